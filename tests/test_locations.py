"""Regions, countries and cities: shapes, filters, orderings and single records (contract §2, §3)."""
import pytest

from tests.data import LONDON

REGION_IDS = {15, 14, 17, 18, 11, 29, 13, 5, 21, 143, 30, 35, 34, 145, 151, 154, 39, 155, 53, 54, 57, 61, 10}


def all_rows(client, path, **params):
    result = client.simulate_get(path, params={**params, "perPage": 1000})
    assert result.status_code == 200, result.text
    return result.json["data"]


def test_all_23_regions(client):
    regions = all_rows(client, "/regions")
    assert {r["id"] for r in regions} == REGION_IDS
    assert {"id": 154, "name": "Northern Europe", "continent": "EU"} in regions
    assert {"id": 10, "name": "Antarctica", "continent": "AN"} in regions


def test_region_item(client):
    assert client.simulate_get("/regions/154").json == {"data": {"id": 154, "name": "Northern Europe", "continent": "EU"}}


def test_all_249_countries_with_their_region(client):
    countries = all_rows(client, "/countries")
    assert len(countries) == 249
    assert {c["region"]["id"] for c in countries} == REGION_IDS
    assert countries[0]["code"] == "AD"  # ordered by code by default


@pytest.mark.parametrize("code", ["GB", "gb", "Gb"])
def test_country_item_is_case_insensitive(client, code):
    assert client.simulate_get(f"/countries/{code}").json == {"data": {
        "code": "GB", "name": "United Kingdom", "iso3": "GBR", "isoNumeric": "826", "continent": "EU",
        "region": {"id": 154, "name": "Northern Europe"},
    }}


def test_city_item(client):
    assert client.simulate_get(f"/cities/{LONDON}").json == {"data": {
        "id": LONDON, "name": "London", "country": {"code": "GB", "name": "United Kingdom"},
        "region": {"id": 154, "name": "Northern Europe"}, "latitude": 51.50853, "longitude": -0.12574,
        "population": 8961989, "timezone": "Europe/London",
    }}


@pytest.mark.parametrize("params, expected", [
    ({"code": "GB,de,US"}, {"DE", "GB", "US"}),
    ({"name": "united kingdom"}, {"GB"}),
    ({"name": '"Korea, Republic of",France'}, {"KR", "FR"}),
    ({"name": '"korea, republic of", "FRANCE"'}, {"KR", "FR"}),
    ({"region": "154", "code": "GB,FR"}, {"GB"}),
    ({"continent": "an"}, {"AQ", "BV", "GS", "HM", "TF"}),
    ({"code": "XX"}, set()),
])
def test_country_filters(client, params, expected):
    assert {c["code"] for c in all_rows(client, "/countries", **params)} == expected


@pytest.mark.parametrize("params, expected", [
    ({"id": "154,10"}, {154, 10}),
    ({"name": "northern europe,CARIBBEAN"}, {154, 29}),
    ({"continent": "OC"}, {53, 54, 57, 61}),
])
def test_region_filters(client, params, expected):
    assert {r["id"] for r in all_rows(client, "/regions", **params)} == expected


def test_city_filters(client):
    london = all_rows(client, "/cities", name="london", country="GB")
    assert [c["id"] for c in london] == [LONDON]
    by_region = all_rows(client, "/cities", region="154", country="GB,IE")
    assert by_region and all(c["country"]["code"] in {"GB", "IE"} for c in by_region)
    assert [c["id"] for c in all_rows(client, "/cities", id=f"{LONDON},1")] == [LONDON]


def keys(rows, field):
    return [row[field] for row in rows]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_orderings_end_with_the_key(client, direction):
    reverse = direction == "desc"
    regions = all_rows(client, "/regions", order="name", direction=direction)
    assert keys(regions, "name") == sorted(keys(regions, "name"), reverse=reverse)
    countries = all_rows(client, "/countries", order="code", direction=direction)
    assert keys(countries, "code") == sorted(keys(countries, "code"), reverse=reverse)
    cities = all_rows(client, "/cities", country="GB", order="population", direction=direction)
    pairs = [(c["population"], c["id"]) for c in cities]
    assert pairs == sorted(pairs, reverse=reverse)


def test_cities_order_by_country_name(client):
    cities = all_rows(client, "/cities", country="DE,FR,GB", order="country")
    names = [c["country"]["name"] for c in cities]
    assert names == sorted(names)
    for name in set(names):  # within one country, by id
        ids = [c["id"] for c in cities if c["country"]["name"] == name]
        assert ids == sorted(ids)
