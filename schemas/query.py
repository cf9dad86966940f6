"""The query string of a list endpoint: pagination, filters, ordering (contract §3)."""
from marshmallow import Schema, fields, validate

from models.base import MAX_ID
from models.distance import MAX_RADIUS_KM
from schemas.fields import CsvList, DecimalInteger, DecimalNumber, GeoPoint, printable_text

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 50
DIRECTIONS = ("asc", "desc")


def integer_values() -> CsvList:
    # Any integer is well-formed; one outside a column's range simply matches nothing.
    return CsvList(DecimalInteger())


def text_values() -> CsvList:
    return CsvList(fields.String(validate=printable_text))


def chosen_values(choices) -> CsvList:
    return CsvList(DecimalInteger(validate=validate.OneOf(choices)), max_items=len(choices))


RADIUS_RANGE = f"Must be above 0 and at most {MAX_RADIUS_KM:g} km."


def near_fields() -> dict:
    """`near=LAT,LON&radius=KM` (contract §11); that both come together is checked by the list."""
    return {
        "near": GeoPoint(),
        "radius": DecimalNumber(validate=validate.Range(0, min_inclusive=False, error=RADIUS_RANGE),
                                at_most=(int(MAX_RADIUS_KM), RADIUS_RANGE)),
    }


def list_query_schema(filters: dict, orderings, default_order: str, extra: dict | None = None) -> Schema:
    """One schema instance per list endpoint, built once when its resource is declared."""
    declared = {
        "page": DecimalInteger(load_default=1, validate=validate.Range(1, MAX_ID)),
        "perPage": DecimalInteger(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE)),
        "order": fields.String(load_default=default_order, validate=validate.OneOf(list(orderings))),
        "direction": fields.String(load_default="asc", validate=validate.OneOf(DIRECTIONS)),
        **filters,
        **(extra or {}),
    }
    return Schema.from_dict(declared, name="ListQuery")()
