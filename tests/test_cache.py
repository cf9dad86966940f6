"""The response cache on its own: least recently used first out, one body may not push out most of the
others, entries are capped, and what it counts is what its entries really cost."""
import tracemalloc

from resources.cache import ResponseCache
from resources.representations import representation


def entry(size: int, tag: str = "x"):
    return representation(tag.encode() * size, "application/json", 0)


def test_the_least_recently_used_goes_first():
    cache = ResponseCache(10_000)
    for name in ("a", "b", "c"):
        cache.put((name,), 1, entry(2000, name))
    assert cache.get(("a",), 1) is not None  # a is now the most recently used
    cache.put(("d",), 1, entry(2000, "d"))
    cache.put(("e",), 1, entry(2000, "e"))
    assert cache.get(("b",), 1) is None and cache.get(("a",), 1) is not None
    assert cache.bytes <= cache.max_bytes


def test_an_entry_is_only_served_at_its_version():
    cache = ResponseCache(10_000)
    cache.put(("a",), 1, entry(10))
    assert cache.get(("a",), 1) is not None and cache.get(("a",), 2) is None


def test_one_body_may_not_push_out_most_of_the_others():
    cache = ResponseCache(40_000)
    cache.put(("small",), 1, entry(100))
    cache.put(("big",), 1, entry(10_001))  # over a quarter of the budget once its overhead is counted
    assert cache.get(("big",), 1) is None and cache.get(("small",), 1) is not None
    cache.put(("fits",), 1, entry(9_000))
    assert cache.get(("fits",), 1) is not None


def test_entries_are_capped_however_small():
    cache = ResponseCache(64 * 1024)
    for number in range(1000):
        cache.put((f"key{number}",), 1, entry(0))
    assert len(cache) == cache.max_entries == 64


def test_what_it_counts_is_at_least_what_it_holds():
    cache = ResponseCache(64 * 1024 * 1024)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for number in range(5000):
        key = ("nodes", "application/json", (("country", f"C{number}"), ("page", str(number % 97 + 1))))
        cache.put(key, 12345, entry(number % 700 + 1, "y"))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(cache) == 5000
    assert held <= cache.bytes <= held * 1.3, (held, cache.bytes)
