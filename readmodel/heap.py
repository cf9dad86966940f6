"""Giving memory back to the system after building a snapshot (glibc only; elsewhere these do nothing).

A build allocates and frees far more than it keeps. glibc keeps freed heap memory for reuse, gives each
thread that allocates its own arena, and after a large buffer is freed raises the size from which buffers
are mapped on their own (so later index arrays land in the heap, where freeing them returns nothing). A
worker whose refresher thread builds and merges would hold on to the peak of every build. One arena, a
fixed mapping threshold and a trim after each build keep a worker's memory near what its snapshot holds
(measured in bench/results).
"""
import ctypes
import ctypes.util

# mallopt parameters, glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MAPPED_FROM = 128 * 1024  # glibc's default, kept fixed: buffers this large are mapped, and unmapped when freed

try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _libc.malloc_trim  # noqa: B018  (present only in glibc)
except (OSError, AttributeError):
    _libc = None


def tune_malloc() -> None:
    """One arena for every thread, a fixed mapping threshold (call before threads start; inherited by forked
    workers)."""
    if _libc is not None:
        _libc.mallopt(M_ARENA_MAX, 1)
        _libc.mallopt(M_MMAP_THRESHOLD, MAPPED_FROM)
        _libc.mallopt(M_TRIM_THRESHOLD, MAPPED_FROM)


def release_free_memory() -> None:
    if _libc is not None:
        _libc.malloc_trim(0)
