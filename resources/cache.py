"""Rendered GET responses kept per worker, keyed by the parsed request and the data they show.

A key names the list (or record), the representation and the query as parsed (so `?a=1&b=2` and `?b=2&a=1`
share an entry, and parameters the endpoint does not know never reach a key: they are a 400). An entry
records the data version it was rendered from and is only served while that is still the version.

Memory is bounded by what entries really cost: the key, the body, the validators and the bookkeeping
around them are all counted against `max_bytes`, and the number of entries is capped too. Only successful
responses are kept, and only after the request was authorised: a cached body is the same for every user
allowed to see it, so nothing can leak from one user to another.
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict

# What an OrderedDict entry costs beyond the objects it holds (hash slot and link), rounded up.
DICT_ENTRY_BYTES = 112
# Entries at most, per byte of budget: bounds the bookkeeping for many tiny bodies (304 polls, empty pages).
BYTES_PER_ENTRY = 1024


def deep_size(value) -> int:
    """Bytes held by `value`: tuples, strings, bytes and numbers, followed into tuples."""
    size = sys.getsizeof(value)
    if isinstance(value, tuple):
        size += sum(deep_size(item) for item in value)
    return size


def entry_size(key: tuple, version: int, representation) -> int:
    return (DICT_ENTRY_BYTES + deep_size(key) + sys.getsizeof((version, representation)) + sys.getsizeof(version)
            + sys.getsizeof(representation) + sys.getsizeof(representation.body)
            + sys.getsizeof(representation.etag) + sys.getsizeof(representation.last_modified))


class ResponseCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.max_entries = max_bytes // BYTES_PER_ENTRY
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()  # key -> (version, representation, size)
        self.bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple, version: int):
        found = self._entries.get(key)
        if found is None or found[0] != version:
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return found[1]

    def put(self, key: tuple, version: int, representation) -> None:
        size = entry_size(key, version, representation)
        if size > self.max_bytes // 4:
            return  # one body may not push out most of the others
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[2]
            self._entries[key] = (version, representation, size)
            self.bytes += size
            while self.bytes > self.max_bytes or len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= evicted[2]
