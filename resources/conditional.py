"""Sending a representation with its validators, and answering conditional GET and HEAD (RFC 9110 §13).

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
from resources.consistency import DATA_VERSION


@lru_cache(maxsize=256)
def http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def last_modified_header(representation) -> str:
    if representation.settled_header is not None:
        return representation.settled_header
    seconds = representation.last_modified
    return http_date(seconds + 1) if settled(seconds) else http_date(seconds)


def send(req, resp, answer, *, private: bool) -> None:
    """Sets the body and validators of `answer`'s representation, or answers 304 Not Modified."""
    representation = answer.representation
    resp.set_header(DATA_VERSION, str(answer.data_version))
    resp.set_header("ETag", representation.etag_header)
    resp.set_header("Last-Modified", last_modified_header(representation))
    # Caches may keep a response but must revalidate it (the validators make that cheap); a shared cache must
    # not keep what a token was needed for.
    resp.set_header("Cache-Control", "private, no-cache" if private else "no-cache")
    if not_modified(req, representation):
        resp.status = falcon.HTTP_NOT_MODIFIED
        return
    resp.content_type = representation.content_type
    resp.data = representation.body


def not_modified(req, representation) -> bool:
    header = req.get_header("If-None-Match")
    if header is not None:
        if header == representation.etag_header:  # what a poller sends back, compared without parsing
            return True
        return any(tag == "*" or str(tag) == representation.etag for tag in (req.if_none_match or ()))
    since = modified_since(req)
    return since is not None and representation.last_modified < since


def precondition_failed(req, representation) -> bool:
    """If-Match (RFC 9110 §13.1.1) does not hold for the current `representation`: none of its tags is the
    current one, compared strongly (a weak tag never matches); `*` matches any current representation."""
    if req.get_header("If-Match") is None:
        return False
    tags = req.if_match or ()
    return not any(tag == "*" or (not tag.is_weak and str(tag) == representation.etag) for tag in tags)


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
