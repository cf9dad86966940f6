"""Media handlers and content negotiation.

JSON is the default representation; /nodes also speaks text/plain (one address a line).
"""
import falcon
import orjson
from falcon import media
from falcon.routing import StaticRoute

JSON = falcon.MEDIA_JSON
TEXT = "text/plain"
TEXT_UTF8 = "text/plain; charset=utf-8"
JSON_ONLY = (JSON,)


class TextLinesHandler(media.BaseHandler):
    """Serializes text/plain media: an iterable of text fragments, concatenated as UTF-8.

    The node list hands it blocks of newline-terminated addresses read from a database cursor,
    so no object per row is kept.
    """

    def serialize(self, media, content_type):
        return "".join(media).encode("utf-8")

    def deserialize(self, stream, content_type, content_length):
        raise falcon.HTTPUnsupportedMediaType(description="Request bodies are JSON.")


def serialize(resp: falcon.Response, media_type: str, media) -> bytes:
    """`media` as bytes, through the app's handler for `media_type` (JSON or text)."""
    return resp.options.media_handlers[media_type].serialize(media, media_type)


def install_media_handlers(app: falcon.App) -> None:
    json_handler = media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    handlers = {JSON: json_handler, TEXT: TextLinesHandler()}
    app.req_options.media_handlers.update({JSON: json_handler})
    app.resp_options.media_handlers.update(handlers)


class ContentNegotiation:
    """Picks the response media type from `Accept` (q-values honoured) before the responder runs.

    A resource lists what it can produce in `media_types` (JSON only when absent); one that
    sets `media_types = None` always answers in its own type (as /nodes.txt does).
    """

    def process_resource(self, req, resp, resource, params):
        if resource is None or isinstance(resource, StaticRoute):
            return
        if not hasattr(resource, f"on_{req.method.lower()}"):
            return  # a method the resource lacks: Falcon's 405 comes first
        offered = getattr(resource, "media_types", JSON_ONLY)
        if offered is None:
            return
        accept = req.get_header("Accept")
        # Most API clients send no Accept, or */*: the first type offered, without parsing.
        chosen = offered[0] if accept is None or accept == "*/*" else req.client_prefers(offered)
        if chosen is None:
            raise falcon.HTTPNotAcceptable(
                description=f"This resource is available as {' or '.join(offered)}, "
                f"which the Accept header does not allow."
            )
        req.context.media_type = chosen
