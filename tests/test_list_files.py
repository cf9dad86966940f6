"""Lists made once per instance and sent from a file (readmodel/list_files.py): no database here, the lists'
agreement with SQL is in test_finding_properties.py and their serving by gunicorn in test_gunicorn.py."""
import gc
import gzip
import os

from readmodel.list_files import ADDRESSES, BOTH, CIDR, KEPT, ListFile, addresses_digest, list_file
from readmodel.tagged import content_tag
from resources.coding import gzipped

V4 = [b"192.0.2.0/24\n", b"198.51.100.7/32\n"]
V6 = [b"2001:db8::/64\n"]


class Maker:
    """Parts as a table gives them (IPv4 first, each a few chunks), counting how often it was asked."""

    def __init__(self, v4=V4, v6=V6):
        self.v4, self.v6, self.calls = v4, v6, 0

    def __call__(self):
        self.calls += 1
        return iter((("4", iter(self.v4)), ("6", iter(self.v6))))


def blocks(digest: str, maker, folder) -> ListFile:
    """The CIDR list file of `digest` in `folder` (in its CIDR folder): its IPv4 part, then IPv6, BOTH the whole."""
    return list_file(CIDR, digest, maker, whole=BOTH, directory=str(folder))


def test_a_list_is_made_once_and_every_later_worker_opens_it(tmp_path):
    maker, other = Maker(), Maker()
    first = blocks("a" * 32, maker, tmp_path)
    again = blocks("a" * 32, other, tmp_path)  # another worker, or this one's next table
    assert (maker.calls, other.calls) == (1, 0) and again is not first
    for listed in (first, again):
        for name, expected in (("4", b"".join(V4)), ("6", b"".join(V6)), (BOTH, b"".join(V4 + V6))):
            body, tag = listed.body(name)
            assert (body.read_all(), len(body), tag) == (expected, len(expected), content_tag(expected))


def test_a_body_is_read_as_a_response_sends_it_a_piece_at_a_time_from_its_own_range(tmp_path):
    body = blocks("b" * 32, Maker(), tmp_path).body("6").body
    reader = body.opened()
    assert reader.fileno() == body.descriptor
    assert os.lseek(body.descriptor, 0, os.SEEK_CUR) == body.start  # where gunicorn's sendfile starts
    pieces = []
    while piece := reader.read(3):
        pieces.append(piece)
    assert b"".join(pieces) == b"".join(V6) and max(map(len, pieces)) == 3
    reader.seek(body.start + 5)  # as socket.sendfile's fallback does
    assert reader.read() == b"".join(V6)[5:]
    reader.close()
    assert body.opened().read() == b"".join(V6)  # closing a response leaves the list open


def test_the_gzip_form_is_the_bytes_any_body_gets_and_is_made_once(tmp_path):
    # Over READ_AT_ONCE: coded in two pieces, as any body is.
    big = [b"10.%d.%d.%d/32\n" % (high, low, last) for high in range(2) for low in range(250) for last in range(256)]
    first = blocks("c" * 32, Maker(v4=big), tmp_path)
    for name in ("4", "6", BOTH):
        body = first.body(name).body
        coded = first.gzipped(name)
        assert coded.read_all() == gzipped(body.read_all())
        assert gzip.decompress(coded.read_all()) == body.read_all()
    made = os.stat(tmp_path / CIDR / f"{'c' * 32}.{BOTH}.gz")
    second = blocks("c" * 32, Maker(v4=big), tmp_path)
    second.gzipped(BOTH)
    assert os.stat(tmp_path / CIDR / f"{'c' * 32}.{BOTH}.gz").st_ino == made.st_ino  # opened, not made again


def test_old_lists_are_removed_but_a_worker_still_sending_one_reads_all_of_it(tmp_path):
    oldest = blocks("0" * 32, Maker(v6=[b"2001:db8::1/128\n"]), tmp_path)
    oldest.gzipped(BOTH)
    for index in range(1, KEPT + 1):
        blocks(str(index) * 32, Maker(), tmp_path)
    left = sorted(name for name in os.listdir(tmp_path / CIDR) if name.endswith(".json"))
    assert left == [f"{index}" * 32 + ".json" for index in range(1, KEPT + 1)]
    assert not any(name.startswith("0" * 32) for name in os.listdir(tmp_path / CIDR))
    assert oldest.body(BOTH).body.read_all() == b"".join(V4) + b"2001:db8::1/128\n"
    assert gzip.decompress(oldest.gzipped(BOTH).read_all()) == b"".join(V4) + b"2001:db8::1/128\n"
    # Made again when a worker comes to those addresses after all.
    maker = Maker()
    blocks("0" * 32, maker, tmp_path)
    assert maker.calls == 1


def test_each_kind_of_list_has_its_own_files_and_parts_of_their_own(tmp_path):
    in_id_order = [b"198.51.100.7\n", b"2001:db8::1\n", b"192.0.2.1\n"]
    made = []

    def addresses():
        made.append(ADDRESSES)
        return [(BOTH, iter(in_id_order)), ("4", iter(in_id_order[0::2])), ("6", iter(in_id_order[1:2]))]

    digest = addresses_digest(in_id_order)
    listed = list_file(ADDRESSES, digest, addresses, directory=str(tmp_path))
    cidr = blocks(digest, Maker(), tmp_path)  # the same addresses, the other kind
    assert list_file(ADDRESSES, digest, addresses, directory=str(tmp_path)).parts == listed.parts
    assert made == [ADDRESSES]
    for name, expected in ((BOTH, b"".join(in_id_order)), ("4", b"198.51.100.7\n192.0.2.1\n"),
                           ("6", b"2001:db8::1\n")):
        body, tag = listed.body(name)
        assert (body.read_all(), tag) == (expected, content_tag(expected))
    assert cidr.body(BOTH).body.read_all() == b"".join(V4 + V6)
    assert sorted(os.listdir(tmp_path)) == sorted([ADDRESSES, CIDR])


def test_a_list_no_one_refers_to_closes_its_descriptors(tmp_path):
    listed = blocks("d" * 32, Maker(), tmp_path)
    descriptors = [listed.body(name).body.descriptor for name in ("4", "6", BOTH)]
    descriptors.append(listed.gzipped("4").descriptor)
    assert all(os.fstat(descriptor) for descriptor in descriptors)
    del listed
    gc.collect()
    for descriptor in descriptors:
        try:
            os.fstat(descriptor)
        except OSError:
            continue
        raise AssertionError(f"descriptor {descriptor} is still open")


def test_the_digest_names_the_addresses_not_how_they_were_cut():
    assert addresses_digest([b"192.0.2.1\n2001:db8::1\n"]) == addresses_digest([b"192.0.2.1\n", b"2001:db8::1\n"])
    assert addresses_digest([b"192.0.2.1\n"]) != addresses_digest([b"192.0.2.2\n"])
