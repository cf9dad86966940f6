"""Media handlers and content negotiation.

JSON is the default representation; /nodes also speaks text/plain (one address a line).
"""
import falcon
import orjson
from falcon import media
from falcon.util import mediatypes

JSON = falcon.MEDIA_JSON
TEXT = "text/plain"
TEXT_UTF8 = "text/plain; charset=utf-8"
JSON_ONLY = (JSON,)


def negotiate(req, resp, resource, params) -> None:
    """A `falcon.before` hook: picks the response media type from `Accept` (q-values honoured, media types
    compared case-insensitively, RFC 9110 §8.3.1) among the resource's `media_types`, else 406.

    Declared after the authentication hook, so a request without credentials gets its 401 first.
    """
    choose(req, getattr(resource, "media_types", JSON_ONLY))


def negotiate_among(offered: tuple):
    """A `falcon.before` hook like `negotiate`, for a responder that offers `offered` (a write answers JSON)."""

    def hook(req, resp, resource, params) -> None:
        choose(req, offered)

    return hook


def choose(req, offered: tuple) -> None:
    accept = req.get_header("Accept")
    # Most API clients send no Accept, or */*: the first type offered, without parsing.
    if accept is None or accept == "*/*":
        req.context.media_type = offered[0]
        return
    try:
        chosen = mediatypes.best_match(offered, accept.lower())
    except ValueError:  # not a valid Accept header: nothing can be said to be acceptable
        chosen = None
    if not chosen:
        raise falcon.HTTPNotAcceptable(
            description=f"This resource is available as {' or '.join(offered)}, which the Accept header does not allow.",
            headers={"Vary": "Accept"},
        )
    req.context.media_type = chosen


def install_media_handlers(app: falcon.App) -> None:
    json_handler = media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers.update({JSON: json_handler})
    app.resp_options.media_handlers.update({JSON: json_handler})
