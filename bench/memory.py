"""What a gunicorn instance costs in memory: each process's RSS and peak RSS, and the instance's proportional
set size (PSS: a page shared by several processes counted once in all, as a container's limit counts it),
sampled while it runs so that its peak (both workers building at once) is seen too."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

KIB = 1024


def children(pid: int) -> list[int]:
    """The process's children, as the kernel lists them (one read, not a walk of /proc)."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def status_kib(pid: int, field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:  # gone (a worker recycled)
        return None
    return int(match[1]) if match else None


def pss_kib(pid: int) -> int:
    try:
        match = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.MULTILINE)
    except OSError:
        return 0
    return int(match[1]) if match else 0


class InstanceMemory:
    """Samples the master and its workers every `every` seconds from start until `stop`."""

    def __init__(self, master: int, every: float = 0.1):
        self.master = master
        self.every = every
        self.peak_pss_kib = 0
        self._window_peak_kib = 0  # since window_peak_mib() was last called
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stopped.is_set():
            now = self.pss_kib()
            self.peak_pss_kib = max(self.peak_pss_kib, now)
            self._window_peak_kib = max(self._window_peak_kib, now)
            self._stopped.wait(self.every)

    def window_peak_mib(self) -> float:
        """The instance's peak PSS since the last call (a scenario's, called before and after it)."""
        peak, self._window_peak_kib = max(self._window_peak_kib, self.pss_kib()), 0
        return round(peak / KIB, 1)

    def pss_kib(self) -> int:
        return pss_kib(self.master) + sum(pss_kib(pid) for pid in children(self.master))

    def report(self) -> dict:
        """Now: the master's RSS, each worker's RSS and peak RSS (MiB), the instance's PSS, and its peak PSS."""
        workers = children(self.master)
        return {
            "master_rss_mib": round((status_kib(self.master, "VmRSS") or 0) / KIB, 1),
            "worker_rss_mib": [round((status_kib(pid, "VmRSS") or 0) / KIB, 1) for pid in workers],
            "worker_peak_rss_mib": [round((status_kib(pid, "VmHWM") or 0) / KIB, 1) for pid in workers],
            "instance_pss_mib": round(self.pss_kib() / KIB, 1),
            "instance_peak_pss_mib": round(max(self.peak_pss_kib, self.pss_kib()) / KIB, 1),
        }

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


def first_answers(base: str, paths: list[str], fetch) -> float:
    """Seconds until every one of `paths` has been answered 200 once, asked one after the other from now."""
    started = time.monotonic()
    for path in paths:
        status = fetch(base + path, {})[0]
        if status != 200:
            raise RuntimeError(f"{path}: {status}")
    return round(time.monotonic() - started, 2)
