"""Rendered GET responses kept per worker, keyed by the parsed request and the data they show.

A key names the list (or record), the representation and the query as parsed (so `?a=1&b=2` and `?b=2&a=1`
share an entry, and parameters the endpoint does not know never reach a key: they are a 400). An entry
records the data version it was rendered from and is only served while that is still the version.

Memory is bounded by what entries really cost: the key, the body, the validators and the bookkeeping
around them are all counted against `max_bytes`, and the number of entries is capped too. A response is
kept on its second request within a while (a bounded set of recently seen keys remembers the first):
varied traffic, which rarely asks for the same page twice, would otherwise fill the cache with pages
nobody asks for again, while a poll or a popular page is kept from its second request on. Only successful
responses are kept, and only after the request was authorised: a cached body is the same for every user
allowed to see it, so nothing can leak from one user to another.

A body over a quarter of the budget is not kept (it would push out most of the others), but its
validators are: a conditional request for it (a poller's 304) still costs no rendering.
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict, deque

from observability.metrics import NoCounter

# What an OrderedDict entry costs beyond the objects it holds (hash slot and link), rounded up.
DICT_ENTRY_BYTES = 112
# Entries at most, per byte of budget: bounds the bookkeeping for many tiny bodies (304 polls, empty pages).
BYTES_PER_ENTRY = 1024
# Keys asked for once, remembered (as hashes) to admit their second request.
RECENT_KEYS = 8192


def deep_size(value) -> int:
    """Bytes held by `value`: tuples, strings, bytes and numbers, followed into tuples."""
    size = sys.getsizeof(value)
    if isinstance(value, tuple):
        size += sum(deep_size(item) for item in value)
    return size


def entry_size(key: tuple, version: int, representation) -> int:
    return (DICT_ENTRY_BYTES + deep_size(key) + sys.getsizeof((version, representation)) + sys.getsizeof(version)
            + sys.getsizeof(representation) + sys.getsizeof(representation.body)
            + sys.getsizeof(representation.etag) + sys.getsizeof(representation.last_modified)
            + sys.getsizeof(representation.etag_header))  # the date header is shared (http_date's cache)


class ResponseCache:
    def __init__(self, max_bytes: int, counter=NoCounter()):
        self.max_bytes = max_bytes
        self.counter = counter  # hits and misses, for /metrics
        self.max_entries = max_bytes // BYTES_PER_ENTRY
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()  # key -> (version, representation, size)
        self.bytes = 0
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple, version: int):
        found = self._entries.get(key)
        if found is None or found[0] != version:
            self.counter.miss()
            return None
        self.counter.hit()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return found[1]

    def put(self, key: tuple, version: int, representation) -> None:
        with self._lock:
            if key not in self._entries and not self._seen_before(hash(key)):
                return
        size = entry_size(key, version, representation)
        if size > self.max_bytes // 4:
            representation = representation.without_body()
            size = entry_size(key, version, representation)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[2]
            self._entries[key] = (version, representation, size)
            self.bytes += size
            while self.bytes > self.max_bytes or len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= evicted[2]

    def _seen_before(self, key_hash: int) -> bool:
        """True on a key's second time (since it was last forgotten); remembers the first."""
        if key_hash in self._seen:
            self._seen.discard(key_hash)
            return True
        self._seen.add(key_hash)
        self._seen_order.append(key_hash)
        while len(self._seen_order) > RECENT_KEYS:
            self._seen.discard(self._seen_order.popleft())
        return False
