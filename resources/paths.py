"""Path converters: an id in a path is ASCII digits naming an integer the database can hold."""
from falcon.routing import BaseConverter

from models.base import MAX_ID, MAX_NODE_ID


class IdConverter(BaseConverter):
    """`{city:id}`: 1..2^31-1 in ASCII digits; anything else (-1, 30 digits, '１２') is not found."""

    highest = MAX_ID

    def convert(self, value: str):
        if not (value.isascii() and value.isdigit() and len(value) <= len(str(self.highest))):
            return None
        number = int(value)
        return number if 1 <= number <= self.highest else None


class NodeIdConverter(IdConverter):
    """`{node:node_id}`: node ids are 64-bit."""

    highest = MAX_NODE_ID
