"""Big lists made once per instance and sent from a file: the whole address list and the whole CIDR list of
either family or both (contract §7, §11, §14).

At 1,000,000 nodes the address list is 17 MB and its CIDR blocks about 20 MB; making the blocks costs 0.7 s of CPU,
and gzip-coding the address list took 1 s with zlib (65 ms by ISA-L now). Sidecars poll every worker, and each
worker had made and kept its own copies: the instance peaked at 580 MiB, over a 512 MiB container. Now the first
worker that needs a list writes it to a file named by a digest of the addresses it is made from, and every worker
holding the same addresses opens that file and sends it with sendfile(2). Its bytes live once, in the page cache,
which the kernel reclaims under pressure; no worker's heap holds them. A worker keeps its file open, so the file may
be replaced and removed while it still serves it.

A file holds one kind of list (`ADDRESSES` or `CIDR`) as parts named by their families ("4", "6", "4,6"). The
CIDR file holds the IPv4 blocks, then the IPv6 blocks, and the list of both is the whole file. Each part's gzip
form is made once too, when first asked for.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import weakref
from typing import Iterable, Iterator, NamedTuple

from isal import isal_zlib

from readmodel import instance_version
from readmodel.tagged import Tagged

# Lists of other addresses kept on disk for workers yet to catch up (the newest first); older ones are removed
# (a worker still sending one has it open).
KEPT = 3
# ...of a list in another order, of which there are 21 kinds (readmodel/nodes.py: NodeTable.ordered_list), each
# made only when asked for; a worker that finds its own gone makes it again.
ORDERED_KEPT = 2
READ_AT_ONCE = 1 << 20  # bytes read a time where the body cannot go by sendfile (TLS, tests), and coded a time
# ISA-L's level (0-3) for every gzip body, coded while a request waits or once per instance (resources/coding.py).
GZIP_LEVEL = 1
BOTH = "4,6"
# The kinds of list, each in a folder of its own in the instance's lists folder.
ADDRESSES = "addresses"  # one a line, in id order (what /nodes.txt sends)
CIDR = "cidr"  # CIDR blocks in address order (aggregate=cidr)


def ordered_kind(order: str, descending: bool, families) -> str:
    """The kind of the whole list of `families` in another order than ascending id (one part, of those
    families)."""
    return f"addresses-by-{order}{'-desc' if descending else ''}-{part_name(families)}"


def ordered_digest(addresses: str, ids) -> str:
    """What names such a list: the digest of every address in id order, and the ids in the list's order."""
    digest = hashlib.sha256(addresses.encode())
    digest.update(ids.tobytes())
    return digest.hexdigest()[:32]


class Part(NamedTuple):
    start: int
    length: int
    tag: str


def part_name(families: Iterable[int]) -> str:
    return ",".join(str(family) for family in sorted(set(families)))


class FileBody:
    """Bytes `start` to `start + length` of an open file, as a response body. `opened()` gives what a response
    sends: Falcon hands it to the server's `wsgi.file_wrapper`, and gunicorn sends it with sendfile(2) from the
    descriptor's offset (set at `start` when opened and never moved), or reads it where sendfile cannot go."""

    __slots__ = ("descriptor", "start", "length", "owner", "name")

    def __init__(self, descriptor: int, start: int, length: int, owner: "ListFile", name: str | None):
        self.descriptor, self.start, self.length = descriptor, start, length
        self.owner = owner  # keeps the descriptor open while this body may be sent
        self.name = name  # the list's part, None for a gzip form

    def __len__(self) -> int:
        return self.length

    def opened(self) -> "BodyReader":
        return BodyReader(self)

    def gzipped(self) -> "FileBody":
        return self.owner.gzipped(self.name)

    def read_all(self) -> bytes:
        return os.pread(self.descriptor, self.length, self.start)


class BodyReader:
    """One response's reading of a FileBody: positions are the file's (what socket.sendfile seeks to)."""

    mode = "rb"

    def __init__(self, body: FileBody):
        self.body = body
        self.position = body.start

    def fileno(self) -> int:
        return self.body.descriptor

    def seek(self, position: int) -> None:
        self.position = position

    def read(self, size: int = -1) -> bytes:
        end = self.body.start + self.body.length
        wanted = end - self.position if size is None or size < 0 else min(size, end - self.position)
        if wanted <= 0:
            return b""
        data = os.pread(self.body.descriptor, wanted, self.position)
        self.position += len(data)
        return data

    def close(self) -> None:
        """The descriptor is the list file's: it stays open for the next response."""


class ListFile:
    """A made list open in this worker: its parts by name ("4", "6", "4,6") with their content tags."""

    def __init__(self, directory: str, digest: str, parts: dict[str, Part]):
        self.directory, self.digest, self.parts = directory, digest, parts
        self.path = os.path.join(directory, digest)
        self._descriptors: dict[str, int] = {}
        self._lock = threading.Lock()
        # Closed when no table, cached response or response being sent refers to this list any more.
        self._closer = weakref.finalize(self, _close_all, self._descriptors)

    def open(self) -> None:
        """Its file opened (the descriptor of its first part), so that it stays readable if removed."""
        self._descriptor(next(iter(self.parts)), self.path, next(iter(self.parts.values())).start)

    def body(self, name: str) -> Tagged:
        """The list of part `name` with its content tag, as a FileBody."""
        part = self.parts[name]
        return Tagged(FileBody(self._descriptor(name, self.path, part.start), part.start, part.length, self, name),
                      part.tag)

    def gzipped(self, name: str) -> FileBody:
        """Part `name` gzip-coded as `resources/coding.py` codes any body (`gzip_coded`: the same bytes),
        made once per instance by whichever worker is first asked."""
        key = f"{name}.gz"
        with self._lock:
            descriptor = self._descriptors.get(key)
        if descriptor is None:
            coded_path = f"{self.path}.{key}"
            with instance_version.shared.addresses_turn():
                if not os.path.exists(coded_path):
                    self._write_gzip(self.body(name).body, coded_path)
                descriptor = self._descriptor(key, coded_path, 0)
                if not os.path.exists(f"{self.path}.json"):  # the list was removed as old meanwhile
                    os.remove(coded_path)
        return FileBody(descriptor, 0, os.fstat(descriptor).st_size, self, None)

    def _descriptor(self, key: str, path: str, start: int) -> int:
        with self._lock:
            found = self._descriptors.get(key)
            if found is None:
                # Its own open file (and offset) per part: gunicorn sends from the descriptor's offset.
                found = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                os.lseek(found, start, os.SEEK_SET)
                self._descriptors[key] = found
            return found

    @staticmethod
    def _write_gzip(body: FileBody, path: str) -> None:
        reader, temporary = body.opened(), f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as out:
            out.writelines(gzip_pieces(iter(lambda: reader.read(READ_AT_ONCE), b"")))
        os.replace(temporary, path)


def gzip_pieces(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The gzip coding of `pieces`, READ_AT_ONCE bytes each but the last, by Intel's ISA-L at GZIP_LEVEL: a gzip
    header with no file name and time 0, and ISA-L's output depends on where its input is cut, so every worker
    and instance cuts a body the same way and a gzip tag names one sequence of bytes wherever it was coded."""
    coder = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    for piece in pieces:
        yield coder.compress(piece)
    yield coder.flush()


def gzip_coded(body: bytes) -> bytes:
    view = memoryview(body)
    return b"".join(gzip_pieces(view[start:start + READ_AT_ONCE] for start in range(0, len(body), READ_AT_ONCE)))


def _close_all(descriptors: dict) -> None:
    for descriptor in descriptors.values():
        with contextlib.suppress(OSError):
            os.close(descriptor)


def addresses_digest(chunks: Iterable[bytes]) -> str:
    """What names a list file: a digest of the addresses (one a line, in a canonical order) it is made from."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()[:32]


def list_file(kind: str, digest: str, make_parts, whole: str | None = None,
              directory: str | None = None, keep: int = KEPT) -> ListFile:
    """The list file of `kind` and `digest`, made by `make_parts()` (an iterable of (name, chunks of bytes))
    unless a worker of this instance has made it already; `whole`: the name of a part that is the whole file."""
    directory = os.path.join(directory or instance_version.shared.lists_directory(), kind)
    with instance_version.shared.addresses_turn():
        found = _opened(directory, digest)
        if found is None:
            parts = _write(directory, digest, make_parts(), whole)
            found = ListFile(directory, digest, parts)
            found.open()  # before older lists may go
            _remove_older(directory, keep=keep)
        return found


def _opened(directory: str, digest: str) -> ListFile | None:
    try:
        with open(os.path.join(directory, f"{digest}.json"), "rb") as index:
            parts = {name: Part(*part) for name, part in json.load(index)["parts"].items()}
        listed = ListFile(directory, digest, parts)
        listed.open()
    except FileNotFoundError:  # never made, or removed as old
        return None
    return listed


def _write(directory: str, digest: str, parts, whole: str | None) -> dict[str, Part]:
    """The parts' chunks written one after the other, with each part's range and content tag (and the part
    `whole`, all of them); the index is written last, so a list whose index exists is complete."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, digest)
    temporary = f"{path}.{os.getpid()}.tmp"
    found, position, everything = {}, 0, hashlib.sha256()
    with open(temporary, "wb") as out:
        for name, chunks in parts:
            own, start = hashlib.sha256(), position
            for chunk in chunks:
                out.write(chunk)
                own.update(chunk)
                everything.update(chunk)
                position += len(chunk)
            # Tags as content_tag gives them (readmodel/tagged.py).
            found[name] = Part(start, position - start, own.hexdigest()[:24])
    if whole is not None:
        found[whole] = Part(0, position, everything.hexdigest()[:24])
    os.replace(temporary, path)
    with open(f"{temporary}.json", "w") as index:
        # When it was made, by the machine's monotonic clock (file times are too coarse to order quick writes).
        json.dump({"made": time.monotonic_ns(), "parts": found}, index)
    os.replace(f"{temporary}.json", f"{path}.json")
    return found


def _remove_older(directory: str, keep: int) -> None:
    """All but the `keep` newest lists (with their gzip forms)."""
    made = {}
    for name in os.listdir(directory):
        if name.endswith(".json"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                with open(os.path.join(directory, name), "rb") as index:
                    made[name[:-len(".json")]] = json.load(index)["made"]
    old = sorted(made, key=made.get, reverse=True)[keep:]
    for name in os.listdir(directory):
        if name.split(".")[0] in old:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
