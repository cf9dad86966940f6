"""`manage.py seed [--demo-nodes N]`: load the shipped reference data (idempotent).

Regions, countries and cities are compared with what is stored: only what is missing is
inserted and only what differs is updated, so a second run writes nothing.
"""
import csv
import gzip
import ipaddress
import random
import sys
import time

from config import PROJECT_ROOT
from models import City, Country, Region, fold, write_transaction
from models.base import chunks
from models.node_writes import NodeRow, upsert_nodes

DATA = PROJECT_ROOT / "data"
# Documentation address ranges (RFC 5737, RFC 3849) and ASNs (RFC 5398): never real hosts.
DEMO_IPV4_NETWORKS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
DEMO_IPV6_BASE = int(ipaddress.IPv6Address("2001:db8::"))
DEMO_ASNS = range(64496, 64512)
DEMO_SEED = 20231003
MAX_DEMO_NODES = 1_000_000
DEMO_IPV4 = [str(host) for net in DEMO_IPV4_NETWORKS for host in ipaddress.ip_network(net).hosts()]


def region_rows() -> list[dict]:
    with open(DATA / "regions.csv", newline="", encoding="utf-8") as handle:
        return [{"id": int(r["id"]), "name": r["name"], "name_key": fold(r["name"]), "continent": r["continent"]}
                for r in csv.DictReader(handle)]


def country_rows() -> list[dict]:
    with open(DATA / "countries.csv", newline="", encoding="utf-8") as handle:
        return [{"code": r["code"], "name": r["name"], "name_key": fold(r["name"]), "iso3": r["iso3"],
                 "iso_numeric": r["iso_numeric"], "continent": r["continent"], "region": int(r["region"])}
                for r in csv.DictReader(handle)]


def city_rows(region_of_country: dict) -> list[dict]:
    with gzip.open(DATA / "cities15000.csv.gz", "rt", newline="", encoding="utf-8") as handle:
        return [{"id": int(r["id"]), "name": r["name"], "name_key": fold(r["name"]), "country": r["country"],
                 "region": region_of_country[r["country"]], "latitude": float(r["latitude"]),
                 "longitude": float(r["longitude"]), "population": int(r["population"]), "timezone": r["timezone"]}
                for r in csv.DictReader(handle)]


def sync(model, rows: list[dict]) -> tuple[int, int]:
    """Insert missing rows and update differing ones; returns (created, updated)."""
    key = model._meta.primary_key
    stored = {row[key.name]: row for row in model.select().dicts()}
    new, changed = [], []
    for row in rows:
        current = stored.get(row[key.name])
        if current is None:
            new.append(row)
        elif any(current[field] != value for field, value in row.items()):
            changed.append(row)
    for batch in chunks(new):
        model.insert_many(batch).execute()
    for row in changed:
        model.update(row).where(key == row[key.name]).execute()
    return len(new), len(changed)


def demo_address(index: int) -> str:
    if index < len(DEMO_IPV4):
        return DEMO_IPV4[index]
    return str(ipaddress.IPv6Address(DEMO_IPV6_BASE + index - len(DEMO_IPV4) + 1))


def demo_node_rows(count: int) -> list[NodeRow]:
    """The same `count` nodes every time: cities drawn by population with a fixed seed."""
    cities = list(City.select(City.id, City.population).order_by(City.id).tuples())
    picks = random.Random(DEMO_SEED).choices([c for c, _ in cities], weights=[p for _, p in cities], k=count)
    rows = []
    for index, city in enumerate(picks):
        asn = DEMO_ASNS[index % len(DEMO_ASNS)]
        rows.append(NodeRow(line=index + 1, ip=demo_address(index), city=city, asn=asn,
                            network=f"Example Network AS{asn}"))
    return rows


def seed(demo_nodes: int = 0, report=print) -> None:
    started = time.monotonic()
    with write_transaction():
        regions = region_rows()
        report("regions: {} ({} new, {} updated)".format(len(regions), *sync(Region, regions)))
        countries = country_rows()
        report("countries: {} ({} new, {} updated)".format(len(countries), *sync(Country, countries)))
        cities = city_rows({c["code"]: c["region"] for c in countries})
        report("cities: {} ({} new, {} updated)".format(len(cities), *sync(City, cities)))
        if demo_nodes:
            counts = upsert_nodes(demo_node_rows(demo_nodes))
            report(f"demo nodes: {demo_nodes} ({counts.created} new, {counts.updated} updated)")
    report(f"seeded in {time.monotonic() - started:.1f} s")


def add_arguments(parser) -> None:
    parser.add_argument("--demo-nodes", type=int, default=0, metavar="N",
                        help="also add N demo nodes over real cities, weighted by population")


def run(args) -> int:
    if not 0 <= args.demo_nodes <= MAX_DEMO_NODES:
        print(f"seed: --demo-nodes must be between 0 and {MAX_DEMO_NODES}", file=sys.stderr)
        return 2
    seed(args.demo_nodes)
    return 0


COMMANDS = {"seed": ("load regions, countries and cities (idempotent), optionally demo nodes", add_arguments, run)}
