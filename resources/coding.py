"""Content codings (contract §13): every response of 1 KiB or more goes gzip-coded when `Accept-Encoding`
allows it, q-values honoured; each coded body is made once while it is kept.

A representation's gzip body is kept by its ETag (bounded by bytes), so the text list is compressed once per
data version and worker, not per request. But a body can be new on every request (the address list of a circle
round a new point), so coding is by Intel's ISA-L: a 1.7 MB address list took 145 ms at zlib's level 6 (857 KB)
and 24 at its level 1 (932 KB), and takes 6 at ISA-L's level 1 (885 KB; 874 at its level 3, 7 ms); a 17 KB page
took 0.12 ms at zlib's level 1, 0.03 now (bench/costly_requests.py's gzip-coded cases).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import falcon

from observability.metrics import NoCounter
from readmodel.list_files import FileBody, gzip_coded

GZIP = "gzip"
IDENTITY = "identity"
MIN_BYTES = 1024  # smaller bodies are sent as they are (a gzip header and trailer alone are 18 bytes)


@lru_cache(maxsize=128)
def weights(header: str | None) -> tuple[float, float]:
    """(gzip's q, identity's q) by `Accept-Encoding` (RFC 9110 §12.5.3). No header: identity only (a client
    that sent none may not decode)."""
    if header is None:
        return 0.0, 1.0
    given = {}
    for item in header.split(","):
        name, _, parameters = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        key, _, value = parameters.strip().lower().partition("=")
        if key.strip() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                continue  # an item that cannot be read is left out
            if not 0.0 <= weight <= 1.0:
                continue
        elif key.strip():
            continue
        given[name] = weight
    anything = given.get("*")
    gzip_weight = given.get(GZIP, given.get("x-gzip", anything if anything is not None else 0.0))
    identity_weight = given.get(IDENTITY, anything if anything is not None else 1.0)
    return gzip_weight, identity_weight


def coding_for(req, size: int) -> str:
    """gzip or identity for a body of `size` bytes: the one the client weighs more (gzip on a tie); below
    MIN_BYTES identity unless refused. A 406 when Accept-Encoding allows neither."""
    gzip_weight, identity_weight = weights(req.get_header("Accept-Encoding"))
    if gzip_weight > 0 and (identity_weight == 0 or (gzip_weight >= identity_weight and size >= MIN_BYTES)):
        return GZIP
    if identity_weight > 0:
        return IDENTITY
    raise falcon.HTTPNotAcceptable(description="Accept-Encoding allows neither gzip nor identity; this service "
                                               "sends one of those.", headers={"Vary": "Accept-Encoding"})


def gzipped(body: bytes) -> bytes:
    return gzip_coded(body)


class CodedBodies:
    """gzip bodies by a key naming their identity body (an ETag), least recently used out, bounded by bytes."""

    def __init__(self, max_bytes: int, counter=NoCounter()):
        self.max_bytes = max_bytes
        self.counter = counter  # hits and misses, for /metrics
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def gzip(self, key: str, body):
        if isinstance(body, FileBody):  # a list in a file shared by the instance: its gzip form is shared too
            return body.gzipped()
        with self._lock:
            found = self._bodies.get(key)
            if found is not None:
                self._bodies.move_to_end(key)
                self.counter.hit()
                return found
        self.counter.miss()
        coded = gzipped(body)
        # Any body within the bound is kept, even one that pushes out all the others: the gzip text list of
        # 1,000,000 nodes (8.5 MB of 17) coded again for every request cost a second of a worker each time.
        if len(coded) <= self.max_bytes:
            with self._lock:
                if key not in self._bodies:
                    self._bodies[key] = coded
                    self._bytes += len(coded)
                    while self._bytes > self.max_bytes:
                        _, dropped = self._bodies.popitem(last=False)
                        self._bytes -= len(dropped)
        return coded


def add_vary(resp, *names: str) -> None:
    """`names` added to the response's Vary, each once."""
    vary = resp.get_header("Vary")
    present = {name.strip().lower() for name in vary.split(",")} if vary else set()
    added = [name for name in names if name.lower() not in present]
    if added:
        resp.set_header("Vary", ", ".join(([vary] if vary else []) + added))
