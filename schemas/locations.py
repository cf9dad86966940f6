"""How regions, countries and cities are written out (contract §2)."""
from marshmallow import Schema, fields


class RegionRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class RegionSchema(RegionRefSchema):
    continent = fields.String()


class CountryRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class CountrySchema(CountryRefSchema):
    iso3 = fields.String()
    isoNumeric = fields.String(attribute="iso_numeric")
    continent = fields.String()
    region = fields.Nested(RegionRefSchema)


class CityRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class CitySchema(CityRefSchema):
    country = fields.Nested(CountryRefSchema)
    region = fields.Nested(RegionRefSchema)
    latitude = fields.Float()
    longitude = fields.Float()
    population = fields.Integer()
    timezone = fields.String()


region_schema = RegionSchema()
country_schema = CountrySchema()
city_schema = CitySchema()
