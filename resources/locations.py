"""Regions, countries and cities: lists and single records (contract §2, §3)."""
import re

import falcon

from models import City, Country, Region
from resources.errors import not_found
from resources.hooks import require_token
from resources.media import negotiate
from resources.list_query import IntegerFilter, TextFilter
from resources.listing import ItemResource, ListCollection, ListSpec
from schemas.locations import city_schema, country_schema, region_schema

REGIONS = ListSpec(
    name="regions",
    rows=lambda: Region.select(),
    key=Region.id,
    filters={
        "id": IntegerFilter(Region.id),
        "name": TextFilter(Region.name_key),
        "continent": TextFilter(Region.continent, str.upper),
    },
    orderings={"id": (Region.id,), "name": (Region.name,)},
    default_order="id",
    schema=region_schema,
    item_filter="id",
)

COUNTRIES = ListSpec(
    name="countries",
    rows=lambda: Country.select(Country, Region.id, Region.name).join(Region),
    key=Country.code,
    filters={
        "code": TextFilter(Country.code, str.upper),
        "name": TextFilter(Country.name_key),
        "region": IntegerFilter(Country.region),
        "continent": TextFilter(Country.continent, str.upper),
    },
    orderings={"code": (Country.code,), "name": (Country.name,)},
    default_order="code",
    schema=country_schema,
    item_filter="code",
)

def city_records():
    """Every city as CitySchema dumps it, from plain tuples (34,000 joined models cost twice as much)."""
    query = (City.select(City.id, City.name, Country.code, Country.name, Region.id, Region.name, City.latitude,
                         City.longitude, City.population, City.timezone)
             .join(Country).switch(City).join(Region).order_by(City.id).tuples())
    for city, name, code, country, region, region_name, latitude, longitude, population, timezone in query:
        yield {"id": city, "name": name, "country": {"code": code, "name": country},
               "region": {"id": region, "name": region_name}, "latitude": latitude, "longitude": longitude,
               "population": population, "timezone": timezone}


CITIES = ListSpec(
    name="cities",
    rows=lambda: (
        City.select(City, Country.code, Country.name, Region.id, Region.name)
        .join(Country).switch(City).join(Region)
    ),
    key=City.id,
    filters={
        "id": IntegerFilter(City.id),
        "name": TextFilter(City.name_key),
        "country": TextFilter(City.country, str.upper),
        "region": IntegerFilter(City.region),
    },
    orderings={
        "id": (City.id,),
        "name": (City.name,),
        "population": (City.population,),
        "country": (Country.name,),
    },
    default_order="id",
    schema=city_schema,
    item_filter="id",
    records=city_records,
    near=(City.latitude, City.longitude),
)

COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")


@falcon.before(require_token)
@falcon.before(negotiate)
class RegionCollection(ListCollection):
    spec = REGIONS


@falcon.before(require_token)
@falcon.before(negotiate)
class RegionItem(ItemResource):
    spec = REGIONS
    noun = "region with id"


@falcon.before(require_token)
@falcon.before(negotiate)
class CountryCollection(ListCollection):
    spec = COUNTRIES


@falcon.before(require_token)
@falcon.before(negotiate)
class CountryItem(ItemResource):
    spec = COUNTRIES
    noun = "country with code"

    def key(self, value):
        if not COUNTRY_CODE.fullmatch(value):
            raise not_found(f"No country with code {value[:10]!r}.")
        return value.upper()


@falcon.before(require_token)
@falcon.before(negotiate)
class CityCollection(ListCollection):
    spec = CITIES


@falcon.before(require_token)
@falcon.before(negotiate)
class CityItem(ItemResource):
    spec = CITIES
    noun = "city with id"
