"""The validators of a representation, and conditional GET, HEAD and writes (RFC 9110 §13).

`ETag` is strong; `If-None-Match` compares weakly and, when present, decides alone; otherwise
`If-Modified-Since` gets a 304 only when the data shown last changed before the second it names (contract
§9, §12). So that a client can ever name such a second, `Last-Modified` says L + 1 for data last changed in
second L once nothing dated L can still appear (models/dating.py); until then it says L,
and a client sending that back gets the whole representation: two changes within one second are never
hidden.
"""
from __future__ import annotations

from datetime import timezone
from email.utils import formatdate
from functools import lru_cache

import falcon

from models import dating
from models.dating import settled
from readmodel.list_files import FileBody
from resources.coding import GZIP, add_vary, coding_for


@lru_cache(maxsize=256)
def http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def last_modified_header(representation) -> str:
    if representation.settled_header is not None:
        return representation.settled_header
    seconds = representation.last_modified
    return http_date(seconds + 1) if settled(seconds) else http_date(seconds)


def send_representation(req, resp, representation, cache_control: str, gzip_body) -> None:
    """`representation` with its validators, in the coding the request allows (`gzip_body()` gives its gzip
    form), or 304 Not Modified."""
    coding = coding_for(req, representation.size)
    add_vary(resp, "Accept-Encoding")
    resp.set_header("ETag", representation.gzip_etag_header if coding == GZIP else representation.etag_header)
    resp.set_header("Last-Modified", last_modified_header(representation))
    resp.set_header("Cache-Control", cache_control)
    if not_modified(req, representation):
        resp.status = falcon.HTTP_NOT_MODIFIED
        return
    resp.content_type = representation.content_type
    if coding == GZIP:
        resp.set_header("Content-Encoding", GZIP)
        set_body(resp, gzip_body())
    else:
        set_body(resp, representation.body)


def set_body(resp, body) -> None:
    """Bytes as they are; a list in a file (readmodel/list_files.py) through the server's file wrapper, which
    gunicorn sends with sendfile(2)."""
    if isinstance(body, FileBody):
        resp.stream = body.opened()
        resp.content_length = len(body)
    else:
        resp.data = body


def not_modified(req, representation) -> bool:
    header = req.get_header("If-None-Match")
    if header is not None:
        # What a poller sends back, compared without parsing; the tag of either coding (contract §13).
        if header == representation.etag_header or header == representation.gzip_etag_header:
            return True
        return any(tag == "*" or str(tag) in (representation.etag, f"{representation.etag}-gzip")
                   for tag in (req.if_none_match or ()))
    since = modified_since(req)
    return since is not None and representation.last_modified < since


def failed_precondition(req, representation) -> str | None:
    """Why the preconditions of a write (PATCH, DELETE) do not hold for the current `representation`, or None
    when they hold (RFC 9110 §13.2.2: If-Match first, then If-None-Match):

    - If-Match (§13.1.1): none of its tags is the current one (of either coding), compared strongly (a weak tag
      never matches); `*` matches any current representation;
    - If-None-Match (§13.1.2): `*` (there is a current representation), or one of its tags is the current one,
      compared weakly: the client asked to write only if the node is not as it knows it (contract §14)."""
    if req.get_header("If-Match") is not None:
        current = (representation.etag, f"{representation.etag}-gzip")
        if not any(tag == "*" or (not tag.is_weak and str(tag) in current) for tag in (req.if_match or ())):
            return "The node has changed since the ETag given in If-Match: GET it again."
    if req.get_header("If-None-Match") is not None:
        current = (representation.etag, f"{representation.etag}-gzip")
        tags = req.if_none_match or ()
        if any(tag == "*" for tag in tags):
            return "The node exists, and If-None-Match: * asks to write only if it does not."
        if any(str(tag) in current for tag in tags):
            return "The node is as the ETag given in If-None-Match, which asks to write only if it is not."
    return None


def modified_since(req) -> int | None:
    """The If-Modified-Since date in seconds, or None when absent or to be ignored: not a valid HTTP-date,
    or later than now (RFC 9110 §13.1.3)."""
    if req.get_header("If-Modified-Since") is None:
        return None
    try:
        since = req.if_modified_since
    except falcon.HTTPInvalidHeader:
        return None
    if since is None:
        return None
    seconds = int(since.replace(tzinfo=timezone.utc).timestamp())
    return None if seconds > dating.wall_clock() else seconds
