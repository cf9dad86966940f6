"""Rendered GET responses, kept per worker and keyed by the data they show.

A key is the whole request target (path and query string, as sent) and the representation; an entry
also records the data version it was rendered at and is only served while that is still the version.
The version (moved by database triggers on every write, from any process) is read at most every
`freshness` seconds, so a repeated request costs no database round trip and a change made anywhere is
served by every worker within `freshness` seconds plus one render.

Only successful responses are kept, and only after the request was authorised: a cached body is the
same for every user allowed to see it, so nothing can leak from one user to another.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import falcon

from models import current_data_version


class DataVersion:
    """The database's data version, re-read at most every `freshness` seconds."""

    def __init__(self, freshness: float, clock: Callable[[], float] = time.monotonic):
        self.freshness = freshness
        self.clock = clock
        self._value = None
        self._read_at = float("-inf")

    def current(self) -> int:
        now = self.clock()
        if now - self._read_at >= self.freshness:
            self._value = current_data_version()
            self._read_at = now
        return self._value


@dataclass(frozen=True)
class Entry:
    version: int
    etag: str
    content_type: str
    body: bytes


class ResponseCache:
    def __init__(self, max_bytes: int, version: DataVersion):
        self.max_bytes = max_bytes
        self.version = version
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, version: int) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != version:
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple, entry: Entry) -> None:
        if len(entry.body) > self.max_bytes // 4:
            return  # one body may not push out most of the others
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)


def make_etag(version: int, key: tuple) -> str:
    digest = hashlib.blake2b(repr(key).encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    return f"{version}-{digest}"


def _matches(req: falcon.Request, tag: str) -> bool:
    header = req.get_header("If-None-Match")
    if header is None:
        return False
    if header == f'"{tag}"':  # what a poller sends back, compared without parsing
        return True
    return any(candidate == "*" or str(candidate) == tag for candidate in (req.if_none_match or ()))


def respond(req, resp, representation: str, parse: Callable[[], object],
            render: Callable[[object], tuple[str, bytes]]) -> None:
    """Answer a GET from the cache, or parse (400s happen here), render and keep it.

    Sets a strong ETag and `Cache-Control` and answers 304 for a matching `If-None-Match`.
    """
    cache: ResponseCache = req.context.cache
    version = cache.version.current()
    key = (req.path, req.query_string, representation)
    entry = cache.get(key, version)
    if entry is None:
        args = parse()
        tag = make_etag(version, key)
        if _matches(req, tag):
            return _not_modified(req, resp, tag)
        content_type, body = render(args)
        entry = Entry(version, tag, content_type, body)
        if cache.max_bytes:
            cache.put(key, entry)
    if _matches(req, entry.etag):
        return _not_modified(req, resp, entry.etag)
    _headers(req, resp, entry.etag)
    resp.content_type = entry.content_type
    resp.data = entry.body


def _headers(req, resp, tag: str) -> None:
    resp.etag = tag
    # Caches may keep a response but must revalidate it (the tag makes that cheap); a shared cache must
    # not keep what a token was needed for.
    resp.cache_control = ["private", "no-cache"] if req.context.user else ["no-cache"]


def _not_modified(req, resp, tag: str) -> None:
    _headers(req, resp, tag)
    resp.status = falcon.HTTP_NOT_MODIFIED
