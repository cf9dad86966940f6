"""Reading a JSON request body through a marshmallow schema."""
import falcon
from marshmallow import Schema, ValidationError

from resources.errors import Problem


def load_json(req: falcon.Request, schema: Schema) -> dict:
    """400 for a body that is not a JSON object, 415 for another media type, 422 by field."""
    media_type = (req.content_type or "").split(";")[0].strip().lower()
    if media_type != falcon.MEDIA_JSON:
        raise Problem(415, "The request body must be JSON, sent with Content-Type: application/json.")
    body = req.get_media()  # Falcon answers 400 itself for an empty or malformed body
    if not isinstance(body, dict):
        raise Problem(400, "The request body must be a JSON object.")
    try:
        return schema.load(body)
    except ValidationError as error:
        raise Problem(422, f"Invalid field: {', '.join(sorted(error.messages))}.", errors=error.messages) from None
