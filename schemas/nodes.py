"""How a node is written out (contract §2): its place comes from its city.

`NodeSchema` is the representation. A page of nodes is assembled from three pre-rendered pieces per node,
`node_head` (its own fields), `node_place` (its city's, shared by every node there) and `node_tail` (its
times), so that a million nodes are not a million full objects in memory; tests/test_representations.py
holds the pieces to `NodeSchema` byte for byte.
"""
from __future__ import annotations

import calendar
from datetime import datetime
from types import SimpleNamespace

import orjson
from marshmallow import RAISE, Schema, fields, post_load, validate

from models.base import MAX_ID
from models.node import MAX_ASN
from schemas.fields import NETWORK_NAME, IpAddress, JsonInteger, UtcTimestamp
from schemas.locations import CityRefSchema, CountryRefSchema, RegionRefSchema

PLACE_FIELDS = ("city", "country", "region", "latitude", "longitude")


class NodeSchema(Schema):
    id = fields.Integer()
    ip = fields.String()
    asn = fields.Integer(allow_none=True)
    network = fields.String(allow_none=True)
    city = fields.Nested(CityRefSchema)
    country = fields.Nested(CountryRefSchema)
    region = fields.Nested(RegionRefSchema)
    latitude = fields.Float(attribute="city.latitude")
    longitude = fields.Float(attribute="city.longitude")
    createdAt = UtcTimestamp(attribute="created_at")
    updatedAt = UtcTimestamp(attribute="updated_at")


class NodeWriteSchema(Schema):
    """What POST /nodes takes, and (partially, as a JSON merge patch) PATCH /nodes/{id} (contract §10)."""

    class Meta:
        unknown = RAISE

    ip = IpAddress(required=True)
    city = JsonInteger(required=True, validate=validate.Range(1, MAX_ID, error="Not a GeoNames city id."))
    asn = JsonInteger(load_default=None, allow_none=True,
                      validate=validate.Range(0, MAX_ASN, error=f"An ASN is 0 to {MAX_ASN}."))
    network = fields.String(load_default=None, allow_none=True, validate=NETWORK_NAME)

    @post_load
    def empty_network_is_none(self, data, **kwargs):
        if data.get("network") == "":
            data["network"] = None  # as an import's empty column
        return data


node_schema = NodeSchema()
node_place_schema = NodeSchema(only=PLACE_FIELDS)
node_write_schema = NodeWriteSchema()


def node_head(node_id: int, ip: str, asn: int | None, network: str | None) -> bytes:
    """`{"id":…,"ip":…,"asn":…,"network":…,` as NodeSchema writes them."""
    return node_address(node_id, ip.encode()) + node_network(asn, network)


def node_address(node_id: int, ip: bytes) -> bytes:
    """`{"id":…,"ip":…,`; a canonical address (digits, a-f, dots, colons) needs no escaping."""
    return b'{"id":%d,"ip":"%s",' % (node_id, ip)


def node_network(asn: int | None, network: str | None) -> bytes:
    """`"asn":…,"network":…,`, which many nodes share."""
    return b'"asn":%s,"network":%s,' % (b"null" if asn is None else b"%d" % asn, orjson.dumps(network))


def node_place(city, country, region) -> bytes:
    """`"city":…,"country":…,"region":…,"latitude":…,"longitude":…,` for a City and its country and region."""
    place = node_place_schema.dump(SimpleNamespace(city=city, country=country, region=region))
    return orjson.dumps(place)[1:-1] + b","


def render_node(node) -> bytes:
    """A Node (with its city, country and region joined in) as NodeSchema writes it."""
    return (node_head(node.id, node.ip, node.asn, node.network) + node_place(node.city, node.country, node.region)
            + node_tail(timestamp_text(node.created_at), timestamp_text(node.updated_at)))


def node_tail(created: str, updated: str) -> bytes:
    """`"createdAt":…,"updatedAt":…}` from two `timestamp_text` values."""
    return b'"createdAt":"%s","updatedAt":"%s"}' % (created.encode(), updated.encode())


def timestamp_text(value) -> str:
    """A stored node time (a naive UTC datetime, or SQLite's text of one) as UtcTimestamp writes it."""
    if isinstance(value, str):
        return value[:19].replace(" ", "T") + "+00:00"
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def timestamp_seconds(value) -> int:
    """A stored node time as seconds since the epoch."""
    if isinstance(value, str):
        value = datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
    return calendar.timegm(value.timetuple())
