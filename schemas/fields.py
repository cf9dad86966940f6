"""Fields shared by the schemas: CSV-quoted filter lists in, UTC timestamps out."""
import csv
import re
from datetime import timezone

from marshmallow import ValidationError, fields

MAX_FILTER_VALUES = 1000


class CsvList(fields.Field):
    """One value, or a comma-separated list following CSV quoting: `name="Korea, Republic of",France`."""

    def __init__(self, item: fields.Field, max_items: int = MAX_FILTER_VALUES, **kwargs):
        super().__init__(**kwargs)
        self.item = item
        self.max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Give this parameter once; list several values separated by commas.")
        try:
            values = next(csv.reader([value], skipinitialspace=True, strict=True), [])
        except csv.Error:
            raise ValidationError(
                'Not a valid comma-separated list; a value holding a comma is written in double quotes.'
            ) from None
        values = [v.strip(" ") for v in values]
        if not values or "" in values:
            raise ValidationError("Empty value; give one value or a comma-separated list of values.")
        if len(values) > self.max_items:
            raise ValidationError(f"At most {self.max_items} values, got {len(values)}.")
        items, errors = [], []
        for position, raw in enumerate(values, 1):
            try:
                items.append(self.item.deserialize(raw))
            except ValidationError as error:
                errors.append(f"Value {position} ({raw[:40]!r}): {' '.join(_messages(error))}")
        if errors:
            raise ValidationError(errors[:10])
        return items


class DecimalInteger(fields.Integer):
    """An integer written in ASCII digits: Python's int() would also take '１２', '١٢' and '1_000'."""

    DIGITS = re.compile(r"([+-]?)0*([0-9]+)")
    BEYOND_ANY_COLUMN = 10**20  # what a longer number stands for: no database column reaches it

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            match = self.DIGITS.fullmatch(value)
            if not match:
                raise self.make_error("invalid")
            if len(match[2]) > 20:  # spare int() its cost (and its 4300-digit limit)
                value = f"{match[1]}{self.BEYOND_ANY_COLUMN}"
        return super()._deserialize(value, attr, data, **kwargs)


def _messages(error: ValidationError) -> list:
    messages = error.messages
    return messages if isinstance(messages, list) else [str(messages)]


def printable_text(value: str) -> None:
    """Text the databases can store: valid UTF-8, no control characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Not valid UTF-8.") from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("Control characters are not allowed.")


class UtcTimestamp(fields.Field):
    """A naive UTC datetime written as ISO 8601 with whole seconds and `+00:00`."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc, microsecond=0).isoformat()
