"""Compression (contract §13): gzip for every response of 1 KiB or more that Accept-Encoding allows, decoding
to the identity bytes, an ETag per coding, 304s for either tag, q-values honoured, each body coded once."""
import gzip
import os

import pytest

from models.node_writes import NodeRow, upsert_nodes
from resources.coding import MIN_BYTES, CodedBodies, weights
from tests.data import LONDON
from tests.helpers import assert_problem

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def listed(nodes):
    """Enough nodes for every list to pass 1 KiB."""
    # Scattered, so that the CIDR list is long too.
    upsert_nodes([NodeRow(line=index, ip=f"10.{index}.{index * 7 % 256}.{index * 13 % 256}", city=LONDON)
                  for index in range(1, 250)])
    return nodes


@pytest.mark.parametrize("path, authorised", [
    ("/nodes?perPage=1000", False), ("/nodes.txt", False), ("/nodes.txt?aggregate=cidr", False),
    ("/countries?perPage=100", True), ("/cities?country=GB", True), ("/openapi.json", False),
    ("/openapi.yaml", False), ("/docs/static/swagger-ui.css", False), ("/docs/static/favicon-32x32.png", False),
])
def test_gzip_decodes_to_the_identity_bytes_with_a_tag_of_its_own(client, anonymous, listed, path, authorised):
    caller = client if authorised else anonymous
    plain = caller.simulate_get(path)
    coded = caller.simulate_get(path, headers=GZIP)
    assert len(plain.content) >= MIN_BYTES and "content-encoding" not in plain.headers
    assert coded.headers["content-encoding"] == "gzip" and gzip.decompress(coded.content) == plain.content
    assert len(coded.content) < len(plain.content) or path.endswith(".png")
    assert "Accept-Encoding" in plain.headers["vary"] and "Accept-Encoding" in coded.headers["vary"]
    assert coded.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    # Either tag is current: a 304 naming the tag of the coding asked for.
    for tag in (plain.headers["etag"], coded.headers["etag"]):
        again = caller.simulate_get(path, headers={**GZIP, "If-None-Match": tag})
        assert again.status_code == 304 and again.headers["etag"] == coded.headers["etag"]
        again = caller.simulate_get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.headers["etag"] == plain.headers["etag"]
    head = caller.simulate_head(path, headers=GZIP)
    assert head.headers["content-encoding"] == "gzip" and int(head.headers["content-length"]) == len(coded.content)


@pytest.mark.parametrize("header, coding", [
    ("gzip", "gzip"), ("GZIP", "gzip"), ("x-gzip", "gzip"), ("gzip;q=0.5, identity;q=0.4", "gzip"),
    ("*", "gzip"), ("br, *;q=0.1", "gzip"), ("deflate, gzip;q=1.0, *;q=0.5", "gzip"),
    ("gzip;q=0", None), ("gzip;q=0.4, identity;q=0.5", None), ("br", None), ("", None), ("*;q=0, identity", None),
    ("gzip;q=2", None), ("gzip;q=x", None), ("identity;q=0, gzip", "gzip"),
])
def test_q_values_are_honoured(anonymous, listed, header, coding):
    result = anonymous.simulate_get("/nodes.txt", headers={"Accept-Encoding": header})
    assert result.status_code == 200 and result.headers.get("content-encoding") == coding


@pytest.mark.parametrize("header", ["identity;q=0", "*;q=0", "gzip;q=0, identity;q=0", "br, identity;q=0"])
def test_a_request_allowing_no_coding_this_service_has_is_a_406(anonymous, listed, header):
    assert_problem(anonymous.simulate_get("/nodes.txt", headers={"Accept-Encoding": header}), 406)


def test_a_small_body_goes_as_it_is_unless_identity_is_refused(anonymous, nodes):
    small = anonymous.simulate_get(f"/nodes/{nodes[0].id}", headers=GZIP)
    assert len(small.content) < MIN_BYTES and "content-encoding" not in small.headers
    assert "Accept-Encoding" in small.headers["vary"]
    refused = anonymous.simulate_get(f"/nodes/{nodes[0].id}", headers={"Accept-Encoding": "gzip, identity;q=0"})
    assert refused.headers["content-encoding"] == "gzip"
    assert gzip.decompress(refused.content) == small.content


def test_a_big_problem_is_coded_too(anonymous):
    query = "&".join(f"unknown{number}=1" for number in range(80))
    result = anonymous.simulate_get(f"/nodes?{query}", headers=GZIP)
    assert result.status_code == 400 and result.headers["content-encoding"] == "gzip"
    assert len(gzip.decompress(result.content)) >= MIN_BYTES


def test_a_big_body_is_kept_too_while_it_fits_the_bound():
    """The whole text list at 1,000,000 nodes gzips to 8.6 MB (kept here with READ_MODEL=0 and 16 MiB; the read
    model's is in a file): coding it again for every request cost a second each (0 req/s in the bench)."""
    bodies = CodedBodies(1024 * 1024)
    big = os.urandom(700_000)  # incompressible: its gzip body is most of the bound
    first = bodies.gzip("big", big)
    assert len(first) > 1024 * 1024 // 2 and bodies.gzip("big", big) is first
    too_big = os.urandom(1_100_000)  # its gzip body is over the bound: coded each time, never kept
    assert bodies.gzip("too big", too_big) is not bodies.gzip("too big", too_big)


def test_a_body_is_coded_once_while_it_is_kept():
    bodies = CodedBodies(1024 * 1024)
    text = b"192.0.2.1\n" * 20_000
    first = bodies.gzip("tag", text)
    assert bodies.gzip("tag", text) is first and gzip.decompress(first) == text
    for number in range(40):  # others push it out, least recently used first, within the bound
        bodies.gzip(f"other{number}", os.urandom(50_000))
    assert bodies.gzip("tag", text) is not first


def test_a_write_answers_in_the_coding_asked_for_and_either_tag_is_its_if_match(app, config, clock, nodes):
    from security.tokens import TokenService
    from tests.data import make_user
    from tests.contract import ContractClient

    user = make_user("coder", permissions=["nodes:write"])
    token = TokenService(config, clock).issue(user, auth_time=int(clock().timestamp())).token
    writer = ContractClient(app, headers={"Authorization": f"Bearer {token}"})
    long_network = "N" * 250  # a record near 1 KiB
    created = writer.simulate_post("/nodes", json={"ip": "203.0.113.60", "city": nodes[0].city_id,
                                                   "network": long_network, "asn": 64500},
                                   headers={"Accept-Encoding": "gzip, identity;q=0"})
    assert created.status_code == 201 and created.headers["content-encoding"] == "gzip"
    assert created.headers["etag"].endswith('-gzip"')
    patched = writer.simulate_patch(created.headers["location"], json={"asn": 64501},
                                    headers={"If-Match": created.headers["etag"]})
    assert patched.status_code == 200 and "content-encoding" not in patched.headers


def test_weights_read_the_header_once():
    assert weights("gzip, deflate, br") == (1.0, 1.0)
    assert weights(None) == (0.0, 1.0)
