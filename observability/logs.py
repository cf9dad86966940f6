"""Logs as JSON lines on stdout, each carrying the id of the request it was written for.

Nothing here logs bodies or headers: passwords, tokens and one-time passwords never reach a log.
"""
import contextlib
import contextvars
import logging
import sys
import tempfile
import threading
import time

import orjson

request_id = contextvars.ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, and the record's `fields`
    (pass them as `extra={"fields": {...}}`)."""

    def format(self, record):
        entry = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _Timestamps:
    """ISO 8601 UTC with milliseconds; the part down to the second is formatted once per second."""

    def __init__(self):
        self._second = (None, "")  # one tuple, so that a thread never pairs one second with another's text

    def __call__(self, created: float) -> str:
        second = self._second
        if second[0] != int(created):
            second = self._second = (int(created), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)))
        return f"{second[1]}.{int(created * 1000) % 1000:03d}Z"


_timestamp = _Timestamps()


class StdoutLines:
    """The process's stdout, one JSON line at a time, for every line this service writes.

    Lines are written and flushed at once, unless the server holds access lines (`hold`): then they are
    gathered and written together when the server has no request waiting (`flush`), when the oldest is
    `hold_seconds` old, or past `HELD_BYTES`. A write system call per request cost a third of a 304 poll under
    load (measured); one per batch costs nothing. Any other line writes the held ones first, so the order on
    stdout is the order written.
    """

    HELD_BYTES = 1 << 16

    def __init__(self):
        self.hold_seconds = 0.0  # 0: nothing is held
        self._held: list[str] = []
        self._held_bytes = 0
        self._held_since = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Hold access lines up to `seconds` (the server then calls `flush` whenever it goes idle)."""
        self.hold_seconds = seconds

    def write_access(self, line: str, now: float) -> None:
        """An access line (`now`: its time.time()); held when the server asked for it."""
        if not self.hold_seconds:
            self.write(line)
            return
        with self._lock:
            if not self._held:
                self._held_since = now
            self._held.append(line)
            self._held_bytes += len(line)
            due = self._held_bytes >= self.HELD_BYTES or not 0 <= now - self._held_since < self.hold_seconds
        if due:
            self.flush()

    def write(self, *lines: str) -> None:
        """Lines written now, after whatever is held."""
        with self._lock:
            held, self._held, self._held_bytes = self._held, [], 0
            # Looked up each time, so a redirected stdout (a test capturing it) is honoured.
            stream = sys.stdout
            stream.write("".join(held) + "".join(lines))
            stream.flush()

    def flush(self) -> None:
        if self._held:
            self.write()


stdout_lines = StdoutLines()


class StdoutHandler(logging.Handler):
    """`logging` records to stdout through `stdout_lines`, so they keep their place among the access lines."""

    def emit(self, record):
        try:
            stdout_lines.write(self.format(record) + "\n")
        except Exception:  # as logging.StreamHandler: a line that cannot be written must not fail the caller
            self.handleError(record)


class AccessLog:
    """Access lines, in the same JSON shape as JsonFormatter's, through `stdout_lines`.

    Not through `logging`: building and dispatching a LogRecord costs more than the rest of a request
    served from the cache (measured: 0.71 of the ceiling with it, 0.82 without, for a 304).
    """

    def write(self, request_id: str, method: str, path: str, status: int, seconds: float, user_id: str | None,
              ip: str, api_key: str | None = None) -> None:
        now = time.time()
        line = {
            "time": _timestamp(now), "level": "info", "logger": "perfops.access",
            "message": f"{method} {path} {status}", "request_id": request_id, "method": method,
            "path": path, "status": status, "duration_ms": round(seconds * 1000, 2), "user_id": user_id, "ip": ip,
        }
        if api_key is not None:  # every use of a key is logged with its name
            line["api_key"] = api_key
        stdout_lines.write_access(orjson.dumps(line).decode() + "\n", now)


def startup_failed(error: Exception) -> None:
    """A setting the service cannot start with: one JSON line on stdout naming it, then exit status 1."""
    sys.stdout.write(orjson.dumps({
        "time": _timestamp(time.time()), "level": "critical", "logger": "perfops.config",
        "message": f"cannot start: {error}"}).decode() + "\n")
    sys.stdout.flush()
    raise SystemExit(1)


def lighten_logging() -> None:
    """Skip what no line here uses: the caller's file and line (a stack walk per record, as the logging
    documentation's "Optimization" section describes), thread and process names."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


# For logging.config.dictConfig, and gunicorn's `logconfig_dict`: every logger, gunicorn's too, to stdout.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": RequestIdFilter}},
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {
        "stdout": {"class": "observability.logs.StdoutHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["stdout"], "propagate": False},
        "peewee": {"level": "WARNING"},
        "peewee_migrate": {"level": "WARNING"},
    },
}


class ChangeLog:
    """One JSON line per change to a node (contract §10): the action, the node's id and address, who made it
    (a user id, or `manage.py`) and the request id. Lines are spooled while the change is made and written
    when `publish` is called after the commit, so a rolled-back write leaves no line that says it happened.

    With a `limit` (bulk imports, contract §14), only the first `limit` changes get a line each, then one
    summary line counts them all: platform log routers drop bursts of a million lines."""

    def __init__(self, actor: str, limit: int | None = None, api_key: str | None = None):
        self.actor = actor
        self.api_key = api_key
        self.limit = limit
        self.count = 0
        self.counts: dict[str, int] = {}
        self._spool = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+b")

    def record(self, action: str, node_id: int, ip: str) -> None:
        self.count += 1
        self.counts[action] = self.counts.get(action, 0) + 1
        if self.limit is not None and self.count > self.limit:
            return
        self._spool.write(orjson.dumps({
            "time": _timestamp(time.time()), "level": "info", "logger": "perfops.nodes",
            "message": f"node {action}", "request_id": request_id.get(), "action": action,
            "node_id": node_id, "ip": ip, "user_id": self.actor,
            **({"api_key": self.api_key} if self.api_key is not None else {})}) + b"\n")

    def publish(self) -> None:
        self._spool.seek(0)
        batch = []
        for line in self._spool:
            batch.append(line.decode())
            if len(batch) == 10_000:
                stdout_lines.write(*batch)
                batch = []
        if self.limit is not None:
            batch.append(orjson.dumps({
                "time": _timestamp(time.time()), "level": "info", "logger": "perfops.nodes",
                "message": f"{self.count} node change(s), the first {min(self.count, self.limit)} logged one "
                           "by one", "request_id": request_id.get(), "user_id": self.actor,
                "changes": self.count, "logged": min(self.count, self.limit),
                **{action: self.counts.get(action, 0) for action in ("created", "updated", "removed")}}).decode()
                + "\n")
        stdout_lines.write(*batch)
        self._spool.close()

    def discard(self) -> None:
        self._spool.close()


@contextlib.contextmanager
def changes_logged(actor: str, limit: int | None = None, api_key: str | None = None):
    """A ChangeLog whose lines are written when the block (the write transaction inside it) completes."""
    log = ChangeLog(actor, limit, api_key)
    try:
        yield log
    except BaseException:
        log.discard()
        raise
    log.publish()
