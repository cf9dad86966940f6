"""Sending a representation with its validators, and answering conditional GET and HEAD (RFC 9110 §13).

`ETag` is strong; `If-None-Match` compares weakly and, when present, decides alone; otherwise
`If-Modified-Since` gets a 304 when nothing changed after the date it names (contract §9).
"""
from __future__ import annotations

import time
from datetime import timezone

import falcon


def send(req, resp, representation, *, private: bool) -> None:
    """Sets the body and validators of `representation`, or answers 304 Not Modified."""
    resp.set_header("ETag", representation.etag_header)
    resp.set_header("Last-Modified", representation.last_modified_header)
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
    return since is not None and representation.last_modified <= since


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
    return None if seconds > time.time() else seconds
