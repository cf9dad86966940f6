"""A poll answered again before the framework runs: the same conditional GET, at the same snapshot, gets the
same 304.

Sidecars keeping firewall allow-lists current poll /nodes.txt with the ETag they hold, every few seconds, and
while nothing changed each poll is answered 304: the most frequent request this service gets. Under load the
routing, hooks, query parsing and responder were most of what such a 304 cost on top of the server itself.
So when the full path answers a conditional GET or HEAD 304 from a snapshot of the read model, the answer's
headers are kept, and a request that cannot be answered otherwise gets them again until the snapshot changes:

- GET or HEAD with `If-None-Match` and `Host`, without credentials (`Authorization`), a body or `X-Min-Data-Version`;
- the same method, path, query string, `Accept`, `Origin`, `If-None-Match` and `Accept-Encoding` (the tag a
  304 names is its coding's), byte for byte;
- the read model's snapshot is the one the 304 was made from, confirmed current within the freshness bound
  and holding every write this instance answered (the database is never read here: when confirmation is
  due, the full path does it).

The request id and the access line are the request's own, as on the full path. A 304 answered from the
database (no snapshot yet) is not kept. What is kept is bounded: REPLIES answers, each for a request of at
most LONGEST characters.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

import falcon

from observability.metrics import NoCounter
from resources.middleware import ROUTE_KEY, RequestContext, request_id_for

NOT_MODIFIED = "304 Not Modified"
REPLIES = 256
LONGEST = 2048  # characters of path, query string and the four headers together


def replay_key(env: dict) -> tuple | None:
    """What a kept 304 depends on, or None when the request is not one that could be replayed."""
    tag = env.get("HTTP_IF_NONE_MATCH")
    if (tag is None or "HTTP_AUTHORIZATION" in env or "HTTP_HOST" not in env or env.get("CONTENT_LENGTH") not in (None, "", "0")
            or "HTTP_TRANSFER_ENCODING" in env or "HTTP_X_MIN_DATA_VERSION" in env):
        return None
    method = env["REQUEST_METHOD"]
    if method != "GET" and method != "HEAD":
        return None
    return (method, env["PATH_INFO"], env.get("QUERY_STRING", ""), env.get("HTTP_ACCEPT"), env.get("HTTP_ORIGIN"), tag,
            env.get("HTTP_ACCEPT_ENCODING"))


def worth_keeping(key: tuple) -> bool:
    _, path, query, accept, origin, tag, encodings = key
    # The access line names the path as Falcon does: the same text when it is plain ASCII without a
    # trailing slash.
    plain_path = path.startswith("/") and path.isascii() and (path == "/" or not path.endswith("/"))
    return plain_path and (len(path) + len(query) + len(accept or "") + len(origin or "") + len(tag)
                           + len(encodings or "")) <= LONGEST


class ReplayingApp(falcon.App):
    """A falcon.App that answers a repeated revalidation with the 304 the full path gave it (see above)."""

    def __init__(self, read_model, request_context: RequestContext, counter=NoCounter(), **options):
        super().__init__(**options)
        self._counter = counter  # replays, and revalidations answered by the full path, for /metrics
        self._read_model = read_model  # None: every answer comes from the database, nothing is kept
        self._request_context = request_context
        # key -> (the snapshot's versions, headers, where the request id goes). The versions object stands for
        # its snapshot (one per snapshot, compared by identity) without keeping a replaced snapshot alive.
        self._replies: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, env, start_response):
        key = replay_key(env) if self._read_model is not None else None
        if key is None:
            return super().__call__(env, start_response)
        snapshot = self._read_model.confirmed()
        if snapshot is None:
            return super().__call__(env, start_response)
        reply = self._replies.get(key)
        if reply is not None and reply[0] is snapshot.versions:
            self._counter.hit()
            return self._replay(env, start_response, reply)
        self._counter.miss()
        return super().__call__(env, self._keeping(env, key, snapshot, start_response))

    def _replay(self, env, start_response, reply):
        started = time.perf_counter()
        _, headers, at, route = reply
        request_id = request_id_for(env.get("HTTP_X_REQUEST_ID"))
        start_response(NOT_MODIFIED, [*headers[:at], ("x-request-id", request_id), *headers[at:]])
        self._request_context.log_replayed(env, request_id, 304, started, route)
        return []

    def _keeping(self, env: dict, key: tuple, snapshot, start_response):
        """`start_response`, keeping a 304's headers (but the request id) for `key` at `snapshot`."""

        def keep(status, headers, exc_info=None):
            if status == NOT_MODIFIED and worth_keeping(key):
                names = [name for name, _ in headers]
                if "x-request-id" in names:
                    at = names.index("x-request-id")
                    self._keep(key, (snapshot.versions, headers[:at] + headers[at + 1:], at, env.get(ROUTE_KEY)))
            return start_response(status, headers, exc_info)

        return keep

    def _keep(self, key: tuple, reply: tuple) -> None:
        with self._lock:
            self._replies[key] = reply
            self._replies.move_to_end(key)
            while len(self._replies) > REPLIES:
                self._replies.popitem(last=False)
