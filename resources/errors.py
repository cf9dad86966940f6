"""Every error is RFC 9457 problem details in JSON, whatever the Accept header (contract §4)."""
import logging
import sqlite3
from http import HTTPStatus

import falcon
import orjson
import peewee
import psycopg2
from playhouse.pool import MaxConnectionsExceeded

from observability.metrics import Metrics
from resources.coding import GZIP, MIN_BYTES, add_vary, coding_for, gzipped

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(falcon.HTTPError):
    """An HTTP error with a human `detail` and, for validation failures, `errors` by field."""

    def __init__(self, status: int, detail: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(falcon.code_to_http_status(status), description=detail, headers=headers)
        self.errors = errors


def bad_request(errors: dict, detail: str | None = None) -> Problem:
    names = ", ".join(sorted(errors))
    return Problem(400, detail or f"Invalid query parameter: {names}.", errors=errors)


def not_found(detail: str, headers: dict | None = None) -> Problem:
    return Problem(404, detail, headers=headers)


def serialize_problem(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    status = error.status_code
    body = {"type": "about:blank", "title": _title(error, status), "status": status}
    detail = error.description or _default_detail(req, resp, status)
    if detail:
        body["detail"] = detail
    errors = getattr(error, "errors", None)
    if errors:
        body["errors"] = errors
    resp.content_type = PROBLEM_JSON
    send_problem_body(req, resp, orjson.dumps(body))


def send_problem_body(req, resp, body: bytes) -> None:
    """Problems are bodies like any other: gzip from 1 KiB when allowed (a refused coding is no reason to
    refuse the error too: identity then)."""
    resp.data = body
    if len(body) < MIN_BYTES:
        return
    add_vary(resp, "Accept-Encoding")
    try:
        coding = coding_for(req, len(body))
    except falcon.HTTPNotAcceptable:
        return
    if coding == GZIP:
        resp.set_header("Content-Encoding", GZIP)
        resp.data = gzipped(body)


def _title(error: falcon.HTTPError, status: int) -> str:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    # Falcon's default title is the status line ("404 Not Found"); RFC 9457 wants the phrase.
    if error.title and error.title != f"{status} {phrase}" and not error.title.startswith(f"{status} "):
        return error.title
    return phrase


def _default_detail(req: falcon.Request, resp: falcon.Response, status: int) -> str | None:
    if status == 404:
        return f"Nothing is at {req.path}."
    if status == 405:
        return f"{req.method} is not allowed on {req.path}; allowed: {resp.get_header('Allow') or 'none'}."
    return None


# Failures of the database itself, not of the request: peewee's, and the drivers' own should one escape
# unwrapped (a statement run on a raw cursor).
UNAVAILABLE = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded, psycopg2.OperationalError,
               psycopg2.InterfaceError, sqlite3.OperationalError)
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a relation that does not exist


def schema_missing(error: Exception) -> bool:
    """The schema is not there yet (`migrate` has not run): PostgreSQL's undefined table, wrapped by peewee or
    not. (SQLite says "no such table" with an OperationalError, unavailable anyway.)"""
    causes = [error, *error.args[:1], error.__context__]
    return any(getattr(cause, "pgcode", None) == UNDEFINED_TABLE for cause in causes) or (
        str(error).startswith("no such table"))


def install_error_handlers(app: falcon.App, retry_after: int, metrics: Metrics = Metrics(False)) -> None:
    app.set_error_serializer(serialize_problem)

    def database_unavailable(req, resp, error, params):
        metrics.database_error("request")
        if schema_missing(error):
            log.error("the database has no schema on %s %s: %s", req.method, req.path, error)
            detail = ("The database has no schema yet: run `python manage.py migrate` (the Procfile's release "
                      "phase does).")
        else:
            log.error("database unavailable on %s %s: %s", req.method, req.path, error)
            detail = "The database is unavailable; try again shortly."
        raise Problem(503, detail, headers={"Retry-After": str(retry_after)})

    def database_error(req, resp, error, params):
        if schema_missing(error):
            database_unavailable(req, resp, error, params)
        unexpected(req, resp, error, params)

    def unexpected(req, resp, error, params):
        # Through logging, so the traceback is one JSON line carrying the request id (Falcon's default
        # handler writes it as plain text to wsgi.errors).
        log.error("unhandled %s on %s %s", type(error).__name__, req.method, req.path, exc_info=error)
        raise Problem(500, "Something went wrong on our side; the logs hold the details under this request's id.")

    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(peewee.ProgrammingError, database_error)
    app.add_error_handler(psycopg2.ProgrammingError, database_error)
    for error_type in UNAVAILABLE:
        app.add_error_handler(error_type, database_unavailable)
