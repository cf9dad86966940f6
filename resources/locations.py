"""Regions, countries and cities: lists and single records (contract §2, §3)."""
import re

import falcon

from models import City, Country, Region
from resources.errors import not_found
from resources.hooks import require_token
from resources.listing import IntegerFilter, ItemResource, ListCollection, ListSpec, TextFilter
from schemas.locations import city_schema, country_schema, region_schema

REGIONS = ListSpec(
    select=lambda: Region.select(),
    key=Region.id,
    filters={
        "id": IntegerFilter(Region.id),
        "name": TextFilter(Region.name_key),
        "continent": TextFilter(Region.continent, str.upper),
    },
    orderings={"id": (Region.id,), "name": (Region.name,)},
    default_order="id",
    schema=region_schema,
)

COUNTRIES = ListSpec(
    select=lambda: Country.select(Country, Region.id, Region.name).join(Region),
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
)

CITIES = ListSpec(
    select=lambda: (
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
)

COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")


@falcon.before(require_token)
class RegionCollection(ListCollection):
    spec = REGIONS


@falcon.before(require_token)
class RegionItem(ItemResource):
    spec = REGIONS
    noun = "region with id"


@falcon.before(require_token)
class CountryCollection(ListCollection):
    spec = COUNTRIES


@falcon.before(require_token)
class CountryItem(ItemResource):
    spec = COUNTRIES
    noun = "country with code"

    def key(self, value):
        if not COUNTRY_CODE.fullmatch(value):
            raise not_found(f"No country with code {value[:10]!r}.")
        return value.upper()


@falcon.before(require_token)
class CityCollection(ListCollection):
    spec = CITIES


@falcon.before(require_token)
class CityItem(ItemResource):
    spec = CITIES
    noun = "city with id"
