"""The newest data version a write on this instance has committed, shared by all of its worker processes.

Read your writes (contract §12): once a write has answered, every worker of the instance must serve data at
least that new. Each write raises this number to the version it committed; each request compares its
worker's snapshot with it (an 8-byte read from shared memory) and, when the snapshot is older, has it caught
up first. The memory is mapped when this module is first imported: gunicorn.conf.py imports it in the
master, so every worker forked from it shares the same eight bytes. Anywhere else (tests, tools) each
process has its own.
"""
from __future__ import annotations

import mmap
import multiprocessing
import struct

COUNTER = struct.Struct("q")
# A second 8 bytes after the counter: set once any worker of the instance has built its read model.
BUILT_AT = COUNTER.size


class InstanceVersion:
    def __init__(self):
        self._memory = mmap.mmap(-1, 2 * COUNTER.size)  # anonymous and shared: forked workers see one counter
        # A process-shared semaphore: raising is a read-compare-write, done one process at a time.
        self._lock = multiprocessing.get_context("fork").Lock()

    @property
    def value(self) -> int:
        # An aligned 8-byte read is atomic: no lock on the request path.
        return COUNTER.unpack_from(self._memory)[0]

    def raise_to(self, version: int) -> None:
        """The version becomes at least `version` (never lower: writes may finish out of order)."""
        with self._lock:
            if version > COUNTER.unpack_from(self._memory)[0]:
                COUNTER.pack_into(self._memory, 0, version)

    def lower_to(self, version: int) -> None:
        """The database is at `version`, below this counter: it was restored or replaced (a committed write is
        never undone otherwise), so the counter follows it rather than wait for versions that may never come."""
        with self._lock:
            if version < COUNTER.unpack_from(self._memory)[0]:
                COUNTER.pack_into(self._memory, 0, version)


    @property
    def serving_from_memory(self) -> bool:
        """Some worker of this instance has built its read model (it serves, so a new worker may warm up
        before it takes requests); False on a fresh start, when no worker serves yet."""
        return COUNTER.unpack_from(self._memory, BUILT_AT)[0] != 0

    def read_model_built(self) -> None:
        COUNTER.pack_into(self._memory, BUILT_AT, 1)


# The instance's counter: made in gunicorn's master before it forks the workers (see gunicorn.conf.py).
shared = InstanceVersion()
