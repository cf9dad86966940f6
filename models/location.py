"""Reference data: UN M49 regions, ISO 3166-1 countries, GeoNames cities."""
from peewee import BigIntegerField, CharField, DoubleField, ForeignKeyField, IntegerField

from models.base import BaseModel


def fold(text: str) -> str:
    """The key for exact, case-insensitive name matching, the same on every database."""
    return text.casefold()


class Region(BaseModel):
    id = IntegerField(primary_key=True)  # the M49 numeric code
    name = CharField(max_length=100, index=True)
    name_key = CharField(max_length=100, index=True)
    continent = CharField(max_length=2, index=True)


class Country(BaseModel):
    code = CharField(max_length=2, primary_key=True)  # ISO 3166-1 alpha-2, upper-case
    name = CharField(max_length=100, index=True)
    name_key = CharField(max_length=100, index=True)
    iso3 = CharField(max_length=3)
    iso_numeric = CharField(max_length=3)
    continent = CharField(max_length=2, index=True)
    region = ForeignKeyField(Region, backref="countries", index=True)


class City(BaseModel):
    id = IntegerField(primary_key=True)  # the GeoNames id
    name = CharField(max_length=200)
    name_key = CharField(max_length=200, index=True)
    country = ForeignKeyField(Country, backref="cities", index=True)
    region = ForeignKeyField(Region, backref="cities", index=True)
    latitude = DoubleField()
    longitude = DoubleField()
    population = BigIntegerField()
    timezone = CharField(max_length=40)

    class Meta:
        indexes = ((("name", "id"), False), (("population", "id"), False))
