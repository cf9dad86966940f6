"""Write a node CSV for `manage.py import-nodes`: N nodes over real cities, weighted by population.

    python bench/generate_nodes.py 100000 > nodes.csv

`changed_rows` gives a window of those nodes moved to other cities, for the bench's writer.

Addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking: 131,072 of them), then from
2001:db8::/32 (documentation). The same N always gives the same file.
"""
import csv
import gzip
import ipaddress
import random
import sys
from pathlib import Path

CITIES = Path(__file__).resolve().parent.parent / "data" / "cities15000.csv.gz"
IPV4_BASE = int(ipaddress.IPv4Address("198.18.0.0"))
IPV4_COUNT = 2**17
IPV6_BASE = int(ipaddress.IPv6Address("2001:db8::"))


def address(index: int) -> str:
    if index < IPV4_COUNT:
        return str(ipaddress.IPv4Address(IPV4_BASE + index))
    return str(ipaddress.IPv6Address(IPV6_BASE + index))


def main(count: int, out=sys.stdout) -> None:
    with gzip.open(CITIES, "rt", encoding="utf-8", newline="") as handle:
        cities = [(int(r["id"]), int(r["population"])) for r in csv.DictReader(handle)]
    rng = random.Random(count)
    picks = rng.choices([c for c, _ in cities], weights=[p for _, p in cities], k=count)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ip", "city", "asn", "network"])
    for index, city in enumerate(picks):
        asn = 64496 + index % 16
        writer.writerow([address(index), city, asn, f"Example Network AS{asn}"])


if __name__ == "__main__":
    main(int(sys.argv[1]))


def changed_rows(size: int, round_number: int, count: int = 1000) -> list:
    """`count` of the `size` generated nodes (a different window each round) moved to other cities."""
    with gzip.open(CITIES, "rt", encoding="utf-8", newline="") as handle:
        cities = [int(r["id"]) for r in csv.DictReader(handle)]
    rng = random.Random(size * 1000 + round_number)
    first = (round_number * count) % max(size - count, 1)
    return [[address(index), rng.choice(cities), 64496 + index % 16, f"Example Network AS{64496 + index % 16}"]
            for index in range(first, first + count)]
