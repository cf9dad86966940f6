"""Path converters: an id in a path is ASCII digits naming an integer the database can hold."""
from falcon.routing import BaseConverter

from models.base import MAX_ID


class IdConverter(BaseConverter):
    """`{node:id}`: 1..2^31-1 in ASCII digits; anything else (-1, 30 digits, '１２') is not found."""

    def convert(self, value: str):
        if not (value.isascii() and value.isdigit() and len(value) <= 10):
            return None
        number = int(value)
        return number if 1 <= number <= MAX_ID else None
