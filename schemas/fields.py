"""Fields shared by the schemas: CSV-quoted filter lists, addresses, integers and names in; UTC timestamps out."""
import csv
import ipaddress
import re
from datetime import timezone
from decimal import Decimal

from marshmallow import ValidationError, fields, validate

MAX_FILTER_VALUES = 1000


class CsvList(fields.Field):
    """One value, or a comma-separated list following CSV quoting: `name="Korea, Republic of",France`."""

    def __init__(self, item: fields.Field, max_items: int = MAX_FILTER_VALUES, **kwargs):
        super().__init__(**kwargs)
        self.item = item
        self.max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs):
        # Always one string: a parameter given twice is refused before the schema sees it (ListSpec.parse).
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


class DecimalNumber(fields.Float):
    """A number written in ASCII decimal notation (`12`, `-0.5`, `.5`): no exponent, `inf`, `nan` or `1_0`.
    `at_most`: a bound compared with the number as written, not with its float (`20038.000000000001` is a
    float of 20038.0, and above 20038)."""

    NUMBER = re.compile(r"[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})")

    def __init__(self, *args, at_most: tuple[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.at_most = at_most  # (bound, message)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not self.NUMBER.fullmatch(value):
            raise self.make_error("invalid")
        if self.at_most is not None and Decimal(value) > self.at_most[0]:
            raise ValidationError(self.at_most[1])
        return super()._deserialize(value, attr, data, **kwargs)


class GeoPoint(fields.Field):
    """`LAT,LON` in decimal degrees: latitude -90..90, longitude -180..180."""

    PART = DecimalNumber()

    def _deserialize(self, value, attr, data, **kwargs):
        parts = value.split(",") if isinstance(value, str) else []
        if len(parts) != 2:
            raise ValidationError("Give a point as LAT,LON in decimal degrees, e.g. 50.1109,8.6821.")
        try:
            # Strict (contract §14): no spaces, as other numbers in a query string.
            latitude, longitude = (self.PART.deserialize(part) for part in parts)
        except ValidationError:
            raise ValidationError("Latitude and longitude are decimal numbers without spaces, e.g. "
                                  "50.1109,8.6821.") from None
        errors = []  # the bounds against the numbers as written (a float may round onto a bound)
        if not -90 <= Decimal(parts[0]) <= 90:
            errors.append(f"Latitude {parts[0]} is outside -90..90.")
        if not -180 <= Decimal(parts[1]) <= 180:
            errors.append(f"Longitude {parts[1]} is outside -180..180.")
        if errors:
            raise ValidationError(errors)
        return latitude, longitude


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


def canonical_address(text: str, node: bool = True) -> str:
    """An IPv4 or IPv6 address in canonical text form, else ValueError saying why.

    Refused: zone indexes (`fe80::1%eth0`: meaningless off the host), and IPv4-mapped IPv6 addresses
    (`::ffff:192.0.2.1`), which name an IPv4 host in IPv6's clothes: stored as given they would land in the
    IPv6 list a sidecar turns into IPv6 rules; the message names the IPv4 address to give instead. With `node`
    (an address to store), also those no node can have (`unusable_reason`); without (an address to look for:
    `remove-nodes` of one stored before that rule), any.
    """
    if "%" in text:
        raise ValueError("a zone index (%...) is not allowed")
    address = ipaddress.ip_address(text)
    if address.version == 6 and address.ipv4_mapped is not None:
        raise ValueError(f"an IPv4-mapped IPv6 address: give the IPv4 address {address.ipv4_mapped}")
    unusable = unusable_reason(address) if node else None
    if unusable:
        raise ValueError(f"{address} is {unusable}, which cannot be a measurement node")
    return str(address)


# Addresses no node can be reached at, which would reach every allow-list (contract §14).
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # RFC 1122: a source only, never a destination
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 §2.5.5.1: deprecated IPv4-compatible IPv6
LIMITED_BROADCAST = ipaddress.ip_address("255.255.255.255")


def unusable_reason(address) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_multicast:
        return "a multicast address"
    if address == LIMITED_BROADCAST:
        return "the limited broadcast address"
    if address.version == 4 and address in THIS_NETWORK:
        return "in 0.0.0.0/8 (this network)"
    if address.version == 6 and address in IPV4_COMPATIBLE:
        return "an IPv4-compatible IPv6 address (deprecated)"
    return None


class IpAddress(fields.Field):
    """An IPv4 or IPv6 address as JSON text, stored in canonical form (`2001:DB8::0:1` is `2001:db8::1`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid IP address: give IPv4 or IPv6 text.")
        try:
            return canonical_address(value)
        except ValueError as error:
            reason = str(error) if "does not appear" not in str(error) else "not an IPv4 or IPv6 address"
            raise ValidationError(f"Not a valid IP address: {reason}.") from None


class JsonInteger(fields.Integer):
    """A JSON number that is a whole number (12 or 12.0, as JSON Schema's integer), not text or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._deserialize(int(value), attr, data, **kwargs)


NETWORK_NAME = [validate.Length(max=255, error="At most 255 characters."), printable_text]
