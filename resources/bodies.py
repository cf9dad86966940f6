"""Reading a JSON request body through a marshmallow schema."""
import contextlib

import falcon
import orjson
from marshmallow import Schema, ValidationError

from resources.errors import Problem

MERGE_PATCH = "application/merge-patch+json"
UNKNOWN_FIELD = "Unknown field."
NAMED_AT_MOST = 5  # unknown keys named in a 422; the rest are counted
LONGEST_NAME = 64  # characters of a key repeated back
# A body (at most 64 KiB) must arrive within this many seconds of the request's headers: one shorter than its
# Content-Length held a worker until gunicorn killed it (25 s), and the client got gunicorn's HTML 500.
BODY_SECONDS = 10.0


@contextlib.contextmanager
def body_deadline(req: falcon.Request, seconds: float = BODY_SECONDS):
    """Reads of the body give up after `seconds` of silence from the client (under gunicorn, whose socket is
    in the environment; the timeout is the socket's own, put back after)."""
    sock = req.env.get("gunicorn.socket")
    if sock is None:
        yield
        return
    previous = sock.gettimeout()
    sock.settimeout(seconds)
    try:
        yield
    except TimeoutError:
        raise Problem(408, f"The request body did not arrive within {seconds:g} s: send all of the "
                           "Content-Length it announces.", headers={"Connection": "close"}) from None
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(previous)


def load_json(req: falcon.Request, schema: Schema, media_types=(falcon.MEDIA_JSON,), partial: bool = False) -> dict:
    """400 for a body that is not a JSON object, 415 for another media type, 422 by field.

    Media types compare without regard to case (RFC 9110 §8.3.1), so the body is parsed here rather than by the
    media handler Falcon would look up under the header as sent.
    """
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type not in media_types:
        raise Problem(415, f"The request body must be sent as {' or '.join(media_types)}.")
    with body_deadline(req):
        raw = req.bounded_stream.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Problem(400, "The request body is empty or not valid JSON." if raw else "The request body is empty.") \
            from None
    if not isinstance(body, dict):
        raise Problem(400, "The request body must be a JSON object.")
    try:
        return schema.load(body, partial=partial)
    except ValidationError as error:
        messages = briefly(error.messages)
        raise Problem(422, f"Invalid field: {', '.join(sorted(messages))}." + unknown_count(error.messages),
                      errors=messages) from None


def briefly(messages: dict) -> dict:
    """The errors by field, naming at most a few unknown keys, each cut short: a body's keys are the client's
    to choose, and repeating 64 KiB of them back helps nobody."""
    known = {name[:LONGEST_NAME]: problem for name, problem in messages.items() if problem != [UNKNOWN_FIELD]}
    unknown = [name for name, problem in messages.items() if problem == [UNKNOWN_FIELD]]
    return {**known, **{name[:LONGEST_NAME]: [UNKNOWN_FIELD] for name in unknown[:NAMED_AT_MOST]}}


def unknown_count(messages: dict) -> str:
    unknown = sum(problem == [UNKNOWN_FIELD] for problem in messages.values())
    return f" {unknown} unknown fields in all." if unknown > NAMED_AT_MOST else ""
