"""The response cache on its own: a response is kept from its second request, least recently used first
out, one body may not push out most of the others, entries are capped, and what it counts is what its
entries really cost."""
import tracemalloc

from resources.cache import RECENT_KEYS, ResponseCache, entry_size
from resources.representations import Representation


def entry(size: int, tag: str = "x"):
    return Representation.of(tag.encode() * size, "application/json", 0)


def keep(cache, key, version, found):
    """As two requests for `key` would: the first is remembered, the second kept."""
    cache.put(key, version, found)
    cache.put(key, version, found)


def test_a_response_is_kept_from_its_second_request():
    cache = ResponseCache(10_000)
    cache.put(("a",), 1, entry(10))
    assert cache.get(("a",), 1) is None and len(cache) == 0
    cache.put(("a",), 1, entry(10))
    assert cache.get(("a",), 1) is not None


def test_keys_asked_for_once_are_forgotten_in_time():
    cache = ResponseCache(10_000)
    cache.put(("first",), 1, entry(10))
    for number in range(RECENT_KEYS):
        cache.put((number,), 1, entry(10))  # each once: only remembered, never kept
    assert len(cache) == 0 and len(cache._seen) == RECENT_KEYS
    cache.put(("first",), 1, entry(10))
    assert cache.get(("first",), 1) is None  # its first request was forgotten


def test_the_least_recently_used_goes_first():
    one = entry_size(("a",), 1, entry(2000))
    cache = ResponseCache(one * 5 + one // 2)  # room for five
    for name in "abcde":
        keep(cache, (name,), 1, entry(2000, name))
    assert cache.get(("a",), 1) is not None  # a is now the most recently used
    keep(cache, ("f",), 1, entry(2000, "f"))
    keep(cache, ("g",), 1, entry(2000, "g"))
    assert cache.get(("b",), 1) is None and cache.get(("c",), 1) is None
    assert all(cache.get((name,), 1).body for name in "adefg")
    assert cache.bytes <= cache.max_bytes


def test_an_entry_is_only_served_at_its_version():
    cache = ResponseCache(10_000)
    keep(cache, ("a",), 1, entry(10))
    assert cache.get(("a",), 1) is not None and cache.get(("a",), 2) is None


def test_one_body_may_not_push_out_most_of_the_others_but_its_validators_are_kept():
    cache = ResponseCache(40_000)
    keep(cache, ("small",), 1, entry(100))
    big = entry(10_001)  # over a quarter of the budget once its overhead is counted
    keep(cache, ("big",), 1, big)
    kept = cache.get(("big",), 1)
    assert kept.body is None and (kept.etag, kept.last_modified) == (big.etag, big.last_modified)  # validators only
    assert cache.get(("small",), 1).body is not None and cache.bytes < 10_000
    keep(cache, ("fits",), 1, entry(9_000))
    assert cache.get(("fits",), 1).body is not None


def test_entries_are_capped_however_small():
    cache = ResponseCache(64 * 1024)
    for number in range(1000):
        keep(cache, (f"key{number}",), 1, entry(0))
    assert len(cache) == cache.max_entries == 64


def test_what_it_counts_is_at_least_what_it_holds():
    cache = ResponseCache(64 * 1024 * 1024)
    def key(number):  # a new key object each time, as each request parses its own
        return "nodes", "application/json", (("country", f"C{number}"), ("page", str(number % 97 + 1)))

    for number in range(5000):
        cache.put(key(number), 12345, entry(0))  # the first requests: only remembered
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for number in range(5000):
        cache.put(key(number), 12345, entry(number % 700 + 1, "y"))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(cache) == 5000
    assert held <= cache.bytes <= held * 1.3, (held, cache.bytes)
