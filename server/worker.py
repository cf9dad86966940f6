"""gunicorn's sync worker, answering the errors the HTTP server finds itself as problem+json (contract §9),
and writing the access lines of a busy spell together.

A malformed request line, a URI or header too long, a bad header: gunicorn answers these before the
application sees the request, with an HTML page. This worker writes the same status as an RFC 9457
problem instead; anything else (an application failure) is left to gunicorn.

Access lines are held while connections are waiting and written when the worker has none (before it waits
for the next), at most ACCESS_LINES_HELD_SECONDS late under unbroken load, and when it stops: a hard kill
(SIGKILL) loses at most that much of them.

While its read model is being built from nothing (at start, after reference data changed), a worker of several
leaves new connections to the others, which serve them from memory or, at a fresh start, from the database:
the builder thread and a request had shared one interpreter lock, and the first `/nodes.txt` of a fresh
instance of 1,000,000 nodes took up to 3.5 s when it went to the building worker. The workers build one at a
time (`InstanceVersion.loading_turn`), so there is always one that is not building.
"""
from __future__ import annotations

import errno
import sys
import time

import orjson
from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.sync import SyncWorker

from observability.logs import stdout_lines

ACCESS_LINES_HELD_SECONDS = 0.1
# While standing aside, a worker looks again this often whether its build is done.
STAND_ASIDE_SECONDS = 0.05

# The server's refusals: status, reason phrase, and what to tell the client.
REFUSALS = [
    (errors.LimitRequestLine, 414, "URI Too Long",
     "The request line is longer than 8190 bytes (a filter of 1000 seven-digit ids fits)."),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large",
     "Too many request headers, or one too long."),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented", "This Transfer-Encoding is not supported."),
    (errors.ExpectationFailed, 417, "Expectation Failed", "Only Expect: 100-continue is supported."),
    (errors.ForbiddenProxyRequest, 403, "Forbidden", "PROXY protocol lines are not accepted from this address."),
    (errors.InvalidRequestLine, 400, "Bad Request", "The request line is malformed."),
    (errors.InvalidRequestMethod, 400, "Bad Request", "The request method is malformed."),
    (errors.InvalidHTTPVersion, 400, "Bad Request", "The HTTP version is not one this server speaks."),
    (errors.ParseException, 400, "Bad Request", "The request is malformed."),
]


def refusal(exc: Exception) -> tuple[int, str, str] | None:
    for kind, status, reason, detail in REFUSALS:
        if isinstance(exc, kind) and not isinstance(exc, (errors.InvalidResponseHeader,
                                                          errors.InvalidResponseHeaderName)):
            return status, reason, detail
    return None


def problem_response(status: int, reason: str, detail: str) -> bytes:
    body = orjson.dumps({"type": "about:blank", "title": reason, "status": status, "detail": detail})
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


def stands_aside(workers: int, read_model) -> bool:
    """Whether a worker leaves new connections to the others: it builds its read model from nothing, and it is
    not alone."""
    return workers > 1 and read_model is not None and read_model.building


class ProblemSyncWorker(SyncWorker):
    def run(self):
        stdout_lines.hold(ACCESS_LINES_HELD_SECONDS)
        try:
            super().run()
        finally:  # stopped, recycled or aborted (gunicorn exits a worker by SystemExit)
            stdout_lines.flush()

    def wait(self, timeout):
        stdout_lines.flush()  # no connection is waiting: the worker is idle until one comes
        return super().wait(timeout)

    def accept(self, listener):
        if stands_aside(self.cfg.workers, getattr(sys.modules.get("wsgi"), "read_model", None)):
            time.sleep(STAND_ASIDE_SECONDS)  # a waiting connection goes to another worker meanwhile
            raise BlockingIOError(errno.EAGAIN, "building the read model")
        return super().accept(listener)

    def handle_error(self, req, client, addr, exc):
        found = refusal(exc)
        if found is None:
            return super().handle_error(req, client, addr, exc)
        status, reason, detail = found
        self.log.warning("request refused by the server", extra={"fields": {
            "status": status, "ip": (addr or ("",))[0], "error": type(exc).__name__}})
        try:
            util.write_nonblock(client, problem_response(status, reason, detail))
        except OSError:
            self.log.debug("could not send the refusal")
