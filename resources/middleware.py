"""Request-scoped plumbing: identity and access log, security headers, the database connection, body limit."""
import random
import re
import time

import falcon

from models import database
from observability.logs import AccessLog, request_id
from observability.metrics import Metrics
from resources.client import address_of, client_address

# Where process_response leaves the matched route template in the WSGI environment.
ROUTE_KEY = "perfops.route"
# An incoming X-Request-ID (Heroku's router sends one) is kept if it is a plain token.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")


def request_id_for(incoming: str | None) -> str:
    """The caller's X-Request-ID, or a new one: not a secret, only unique (128 random bits, no system call)."""
    return incoming if incoming is not None and REQUEST_ID.fullmatch(incoming) else f"{random.getrandbits(128):032x}"


class RequestContext:
    """Gives each request an id (the caller's X-Request-ID, or a new one), returns it, puts it in every log
    line written meanwhile, and writes one access line and records its metrics when the response is ready."""

    def __init__(self, trusted_proxy_hops: int, access_log: AccessLog | None, metrics: Metrics = Metrics(False)):
        self.trusted_proxy_hops = trusted_proxy_hops
        self.access_log = access_log
        self.metrics = metrics

    def process_request(self, req, resp):
        req.context.request_id = request_id_for(req.get_header("X-Request-ID"))
        req.context.started = time.perf_counter()
        req.context.user_id = None
        req.context.api_key = None  # the name of the API key behind the token, if one is
        req.context.user = None  # the token's claims, once a hook has checked one
        request_id.set(req.context.request_id)

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Request-ID", req.context.request_id)
        resp.set_header("X-Content-Type-Options", "nosniff")
        if self.access_log:
            self.log_access(req, resp)
        if self.metrics.enabled:
            # The route the request matched, kept in the environment for a replayed 304 of it
            # (resources/revalidations.py).
            req.env[ROUTE_KEY] = req.uri_template
            self.metrics.request(req.uri_template, req.method, resp.status_code,
                                 time.perf_counter() - req.context.started)
        request_id.set(None)

    def log_access(self, req, resp):
        context = req.context
        self.access_log.write(context.request_id, req.method, req.path, resp.status_code,
                              time.perf_counter() - context.started, context.user_id,
                              client_address(req, self.trusted_proxy_hops), context.api_key)

    def log_replayed(self, env: dict, request_id: str, status: int, started: float, route: str | None) -> None:
        """The access line and metrics of a request answered before the framework (resources/revalidations.py)."""
        self.metrics.request(route, env["REQUEST_METHOD"], status, time.perf_counter() - started)
        if self.access_log:
            self.access_log.write(request_id, env["REQUEST_METHOD"], env["PATH_INFO"], status,
                                  time.perf_counter() - started, None,
                                  address_of(env.get("REMOTE_ADDR", "127.0.0.1"), env.get("HTTP_X_FORWARDED_FOR"),
                                             self.trusted_proxy_hops))


class DatabaseSession:
    """Returns a pooled PostgreSQL connection to the pool when the response is ready.

    Connections open lazily on the first query (so /ping never touches the database). Not installed for
    SQLite, whose connection stays with its worker thread.
    """

    def process_response(self, req, resp, resource, req_succeeded):
        if not database.is_closed():
            database.close()


class RequireHost:
    """An HTTP/1.1 request without a Host header is a 400 (RFC 9112 §3.2): a server must not guess which site
    was meant."""

    def process_request(self, req, resp):
        if req.env.get("SERVER_PROTOCOL") == "HTTP/1.1" and "HTTP_HOST" not in req.env:
            raise falcon.HTTPBadRequest(description="An HTTP/1.1 request needs a Host header (RFC 9112 §3.2).")


class RequestBodyLimit:
    """Refuses a body over the limit from its Content-Length, before anything reads it, and a body without
    one (chunked), which Falcon would read as empty."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process_request(self, req, resp):
        if req.get_header("Transfer-Encoding") and req.content_length is None:
            raise falcon.HTTPLengthRequired(description="Send the request body with a Content-Length.")
        length = req.content_length
        if length is not None and length > self.max_bytes:
            raise falcon.HTTPContentTooLarge(
                description=f"Request bodies are limited to {self.max_bytes} bytes; this one has {length}."
            )


class VaryOnOrigin:
    """With CORS on, what a response says depends on the request's Origin: `Vary: Origin` (contract §9), beside
    whatever else it varies on (Accept on /nodes), so that a shared cache keeps one answer per origin."""

    def process_response(self, req, resp, resource, req_succeeded):
        vary = resp.get_header("Vary")
        if not vary:
            resp.set_header("Vary", "Origin")
        elif "origin" not in vary.lower():
            resp.set_header("Vary", f"{vary}, Origin")
