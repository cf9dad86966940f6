"""This worker's snapshot of the served data, never older than `freshness` seconds.

A background thread looks at the database's versions every `freshness / 4` seconds (one small query) and, when
they moved, loads the next snapshot: usually a delta of the changed nodes, merged in milliseconds; after
reference data changed, or when the change log no longer reaches back, a full build.

A request takes the current snapshot when it was last confirmed current within `freshness` and is at least
as new as every write this instance has answered (the shared `InstanceVersion`, contract §12) and as the
request asks (`X-Min-Data-Version`). Otherwise the request looks at the versions itself: if the snapshot is
still current it is confirmed; if a delta is being loaded the request waits for it; while a full build runs
(and before the first one is done) the answer comes from the database (`current()` returns None).

The workers of an instance load changes one at a time (`InstanceVersion.loading_turn`), and a full build lets
go of the old snapshot before it starts: an instance's memory peaks at one worker's load over what the others
hold, not at all of them at once.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from functools import partial
from typing import Callable

import peewee

from models.data_version import VersionAhead, read_versions
from models.database import database, releases_per_request
from readmodel.heap import release_free_memory
from readmodel.instance_version import InstanceVersion, shared
from readmodel.nodes import ReadModelLimit
from readmodel.snapshot import Snapshot, load_snapshot
from observability.metrics import Metrics

log = logging.getLogger(__name__)
# How long a request waits for a delta being loaded before it answers from the database instead.
DELTA_WAIT = 2.0
# After a failed refresh (database away), the refresher tries again this much later.
RETRY_DELAY = 1.0
# While refreshes keep failing the same way, one line says so this often, not one a retry.
FAILURE_LOG_EVERY = 60.0


class ReadModel:
    def __init__(self, specs: dict, freshness: float, clock: Callable[[], float] = time.monotonic,
                 instance: InstanceVersion = shared, metrics: Metrics = Metrics(enabled=False),
                 start_from: Snapshot | None = None):
        self.specs = specs
        self.metrics = metrics  # the data version served, when it was confirmed, failed refreshes
        self.freshness = freshness
        self.clock = clock
        self.instance = instance  # the newest version a write on this instance committed
        self._snapshot: Snapshot | None = None
        self._confirmed_at = float("-inf")  # when the snapshot was last known to be current
        self._wanted = 0  # a data version a request needs that the snapshot does not have yet
        self._full_build = False  # a full build is running: requests answer from the database meanwhile
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.failing = False  # the last refresh failed (the database is away); it is retried
        self._failure_logged = (None, float("-inf"))  # the failure last logged, and when
        # What the first refresh loads from, as a later one loads from the last: another model's snapshot, whose
        # reference tables are kept while their version holds (tests make many models on one database).
        self._start_from = start_from

    # --- the request side -----------------------------------------------------------------------

    def confirmed(self) -> Snapshot | None:
        """The snapshot when it was confirmed current within `freshness` and has every write this instance
        answered (what `current` returns at once), else None; never looks at the database."""
        snapshot = self._snapshot
        if (snapshot is not None and self.clock() - self._confirmed_at <= self.freshness
                and snapshot.versions.data >= self.instance.value):
            return snapshot
        return None

    def current(self, at_least: int = 0, recheck: bool = False) -> Snapshot | None:
        """The snapshot to answer from now, at data version `at_least` or later, or None: answer from the
        database. `recheck`: look at the database's versions even when the snapshot is confirmed (a client
        holds a representation this worker does not know, perhaps a newer one). VersionAhead when no data
        is that new."""
        if not recheck:
            snapshot = self.confirmed()
            if snapshot is not None and snapshot.versions.data >= at_least:
                return snapshot
        snapshot = self._snapshot
        self.start()
        if snapshot is None:
            return None
        looked_at = self.clock()
        versions = read_versions(database)
        if versions.data < at_least:
            raise VersionAhead(at_least, versions.data)
        if versions.data < self.instance.value:
            self.instance.lower_to(versions.data)
        with self._changed:
            if self._snapshot is None:  # a full build began meanwhile
                return None
            if self._snapshot.versions.data >= versions.data:
                self._confirmed_at = max(self._confirmed_at, looked_at)
                return self._snapshot
            self._wanted = max(self._wanted, versions.data)
            self._changed.notify_all()
            deadline = self.clock() + DELTA_WAIT
            while (self._snapshot is not None and self._snapshot.versions.data < versions.data
                   and not self._full_build and not self.failing):
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
            snapshot = self._snapshot
            return snapshot if snapshot is not None and snapshot.versions.data >= versions.data else None

    @property
    def building(self) -> bool:
        """A full build runs (in this worker's loading turn): requests are answered from the database."""
        return self._full_build

    def wait_until_built(self, timeout: float, until_failure: bool = True) -> bool:
        """Blocks until there is a snapshot (a worker warming up), or (`until_failure`) a refresh failed;
        True when there is a snapshot."""
        self.start()
        with self._changed:
            self._changed.wait_for(lambda: self._snapshot is not None or (until_failure and self.failing), timeout)
            return self._snapshot is not None

    # --- the refresher --------------------------------------------------------------------------

    def stop(self) -> None:
        """Ends the refresher (tests; a worker process simply exits)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def start(self) -> None:
        """Starts the refresher, unless it runs (the first request starts it too)."""
        if self._stopped:
            return
        if self._thread is None or not self._thread.is_alive():
            with self._changed:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="read-model", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        # A change is noticed within a quarter of the bound, leaving the rest for loading it on a busy worker
        # (a 1,000-node delta at 1,000,000 nodes shares the processor with the requests being served).
        interval = self.freshness / 4
        while not self._stopped:
            try:
                self.refresh()
                delay = interval
                if self._failure_logged[0] is not None:
                    log.info("read model refresh works again")
                    self._failure_logged = (None, float("-inf"))
            except (peewee.DatabaseError, peewee.InterfaceError, ReadModelLimit) as error:
                self.metrics.database_error("refresh")
                self._log_failure(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
                delay = self._failed()
            except Exception:  # the refresher must outlive anything; requests fall back to the database
                log.exception("read model refresh failed")
                delay = self._failed()
            finally:
                with contextlib.suppress(Exception):
                    if releases_per_request():
                        database.close()  # back to the pool between refreshes
            with self._changed:
                self._changed.wait_for(self._behind, timeout=delay if delay > 0 else None)

    def _log_failure(self, reason: str) -> None:
        """A failure once when it starts or changes, then once every FAILURE_LOG_EVERY seconds while it lasts
        (a database without the schema would otherwise log a line a second on every worker)."""
        last_reason, last_at = self._failure_logged
        now = time.monotonic()
        if reason != last_reason or now - last_at >= FAILURE_LOG_EVERY:
            log.warning("read model refresh failed: %s", reason, extra={"fields": {
                "retry_seconds": RETRY_DELAY, "next_line_within_seconds": FAILURE_LOG_EVERY}})
            self._failure_logged = (reason, now)

    def _failed(self) -> float:
        with self._changed:
            self.failing = True
            self._full_build = False
            self._changed.notify_all()
        return RETRY_DELAY

    def _behind(self) -> bool:
        if self._stopped:
            return True
        return self._wanted > 0 and (self._snapshot is None or self._snapshot.versions.data < self._wanted)

    def refresh(self) -> None:
        """Load what changed (on the refresher's thread; tests call it directly)."""
        started = self.clock()
        began = time.perf_counter()
        with contextlib.ExitStack() as turn:
            # The previous snapshot is named nowhere here: load_snapshot lets go of it before a full build.
            snapshot = load_snapshot(self.specs, self._snapshot or self._start_from,
                                     on_change=partial(self._take_turn, turn), on_full_build=self._full_build_started)
            self._start_from = None
            self._install(snapshot, started, began)

    def _install(self, snapshot: Snapshot, started: float, began: float) -> None:
        built = self._full_build
        with self._changed:
            self._snapshot = snapshot
            self._confirmed_at = max(self._confirmed_at, started)
            self._full_build = False
            self.failing = False
            self._changed.notify_all()
        self.instance.read_model_built()
        self.metrics.snapshot(snapshot.versions.data)
        if built:
            # What the build freed, and the snapshot it replaced, go back to the system: cycles first.
            gc.collect()
            release_free_memory()
            log.info("read model built", extra={"fields": {
                "data_version": snapshot.versions.data, "nodes": len(snapshot.nodes),
                "seconds": round(time.perf_counter() - began, 2)}})

    def _take_turn(self, turn: contextlib.ExitStack) -> None:
        """Something changed: this worker loads it in its turn, one worker of the instance at a time, so that
        their transient copies (a table being caught up or built beside the one served) never add up. A request
        waiting for the change waits for it as before (a catch-up takes a few tens of milliseconds at 1,000,000
        nodes), at most DELTA_WAIT, then answers from the database."""
        turn.enter_context(self.instance.loading_turn())

    def _full_build_started(self) -> None:
        """Requests answer from the database until it is built; the old snapshot is let go first, so that a
        worker never holds two at once (it could not be served meanwhile: it is not current)."""
        with self._changed:
            self._full_build = True
            self._snapshot = None
            self._changed.notify_all()
