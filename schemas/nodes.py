"""How a node is written out (contract §2): its place comes from its city."""
from marshmallow import Schema, fields

from schemas.fields import UtcTimestamp
from schemas.locations import CityRefSchema, CountryRefSchema, RegionRefSchema


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


node_schema = NodeSchema()
