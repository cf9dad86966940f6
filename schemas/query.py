"""The query string of a list endpoint: pagination, filters, ordering (contract §3)."""
from marshmallow import Schema, fields, validate

from models.base import MAX_ID
from schemas.fields import CsvList, DecimalInteger, printable_text

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 50
DIRECTIONS = ("asc", "desc")


def integer_values() -> CsvList:
    # Any integer is well-formed; one outside a column's range simply matches nothing.
    return CsvList(DecimalInteger())


def text_values() -> CsvList:
    return CsvList(fields.String(validate=printable_text))


def list_query_schema(filters: dict, orderings, default_order: str) -> Schema:
    """One schema instance per list endpoint, built once when its resource is declared."""
    declared = {
        "page": DecimalInteger(load_default=1, validate=validate.Range(1, MAX_ID)),
        "perPage": DecimalInteger(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE)),
        "order": fields.String(load_default=default_order, validate=validate.OneOf(list(orderings))),
        "direction": fields.String(load_default="asc", validate=validate.OneOf(DIRECTIONS)),
        **filters,
    }
    return Schema.from_dict(declared, name="ListQuery")()
