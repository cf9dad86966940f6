"""The newest data version a write on this instance has committed, shared by all of its worker processes.

Read your writes (contract §12): once a write has answered, every worker of the instance must serve data at
least that new. Each write raises this number to the version it committed; each request compares its
worker's snapshot with it (an 8-byte read from shared memory) and, when the snapshot is older, has it caught
up first. The memory is mapped when this module is first imported: gunicorn.conf.py imports it in the
master, so every worker forked from it shares the same eight bytes. Anywhere else (tests, tools) each
process has its own.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import mmap
import multiprocessing
import os
import shutil
import struct
import tempfile

COUNTER = struct.Struct("q")
# A second 8 bytes after the counter: set once any worker of the instance has built its read model.
BUILT_AT = COUNTER.size


class InstanceVersion:
    def __init__(self):
        self._memory = mmap.mmap(-1, 2 * COUNTER.size)  # anonymous and shared: forked workers see one counter
        # A process-shared semaphore: raising is a read-compare-write, done one process at a time.
        self._lock = multiprocessing.get_context("fork").Lock()
        # Named by the process that made this object (gunicorn's master): one file an instance.
        self.turns_path = os.path.join(tempfile.gettempdir(),
                                       f"perfops-read-model-turns-{os.getpid()}-{id(self):x}.lock")
        # Its files (turns, shared lists: about 50 MB at 1,000,000 nodes) go when the process that made it
        # exits (gunicorn's master, or a script or test run serving in process), not when a forked worker does.
        atexit.register(self._remove_files_made_by, os.getpid())

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

    def loading_turn(self):
        """One worker of the instance at a time loads a change into its read model (a full build, or a table
        caught up from the change log): each holds two tables meanwhile, and at 1,000,000 nodes the workers'
        builds at start had peaked together about 110 MiB each over what they keep."""
        return self._turn(self.turns_path)

    def addresses_turn(self):
        """One worker at a time puts a table's addresses in address order and makes its whole CIDR list (about
        70 MiB at the peak at 1,000,000 nodes, where sidecars polling both workers had them do it at once).
        Its own turn: a request does it, and must not wait for another worker's full build."""
        return self._turn(self.turns_path + ".addresses")

    @staticmethod
    @contextlib.contextmanager
    def _turn(path: str):
        """A file lock, which the kernel lets go if its holder dies; each worker opens the file for itself (a
        lock belongs to an open file, and forked workers would share one opened before the fork)."""
        with open(path, "ab") as turn:
            fcntl.flock(turn, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(turn, fcntl.LOCK_UN)

    def lists_directory(self) -> str:
        """Where the instance's workers share the lists they make (readmodel/list_files.py)."""
        return self.turns_path + ".lists"

    def remove_files(self) -> None:
        for path in (self.turns_path, self.turns_path + ".addresses"):
            with contextlib.suppress(OSError):
                os.remove(path)
        shutil.rmtree(self.lists_directory(), ignore_errors=True)

    def _remove_files_made_by(self, maker: int) -> None:
        if os.getpid() == maker:
            self.remove_files()


# The instance's counter: made in gunicorn's master before it forks the workers (see gunicorn.conf.py).
shared = InstanceVersion()
