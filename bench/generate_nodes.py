"""Write a node CSV for `manage.py import-nodes`: N nodes as users have them.

    python bench/generate_nodes.py 100000 > nodes.csv

Users' lists are not consecutive addresses of a few networks: addresses are scattered over the public unicast
space, both families (7 in 10 IPv4), and about 0.4 N distinct networks (ASN and name), as in a real list of
1,000,000 nodes (366,665 networks). Memory and the CIDR list depend on it: consecutive addresses of 16
networks understated a worker's memory at 1,000,000 nodes by a third. Nodes are over real cities, weighted by
population. The same N always gives the same file; node `index` always gets `address(index)`.

`changed_rows` gives a window of those nodes moved to other cities, for the bench's writer.
"""
import csv
import gzip
import ipaddress
import random
import sys
from pathlib import Path

CITIES = Path(__file__).resolve().parent.parent / "data" / "cities15000.csv.gz"
MASK32, MASK64 = 2**32 - 1, 2**64 - 1
# IPv4 unicast outside the special-purpose blocks a measurement node cannot have or never gets: (first, last).
IPV4_EXCLUDED = [(int(net.network_address), int(net.broadcast_address)) for net in map(ipaddress.ip_network, (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3"))]


def _scrambled32(value: int) -> int:
    """A bijection of 32-bit integers (odd multipliers and xor-shifts), so distinct inputs stay distinct."""
    value = (value * 0x9E3779B1) & MASK32
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & MASK32
    return value ^ (value >> 13)


def _scrambled64(value: int) -> int:
    value = (value * 0x9E3779B97F4A7C15) & MASK64
    value ^= value >> 31
    value = (value * 0xBF58476D1CE4E5B9) & MASK64
    return value ^ (value >> 29)


def _allowed_ipv4(value: int) -> bool:
    return not any(first <= value <= last for first, last in IPV4_EXCLUDED)


def address(index: int) -> str:
    """Node `index`'s address: IPv4 for 7 in 10, scattered; IPv6 under 2000::/3 with scattered /64s."""
    if index % 10 < 7:
        start = value = (1 << 24) + index  # 1.0.0.0 + index: in the allowed set, so the walk below ends
        value = _scrambled32(value)
        while not _allowed_ipv4(value) and value != start:  # cycle-walking: one-to-one inside the allowed set
            value = _scrambled32(value)
        return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"
    prefix = _scrambled64(index) & (2**61 - 1)
    return str(ipaddress.IPv6Address((1 << 125) | (prefix << 64) | (index % 4096 + 1)))


def network_of(pair: int) -> tuple[int, str]:
    """One of many (ASN, name) pairs; names of realistic lengths."""
    asn = 1 + _scrambled32(pair) % 400_000
    return asn, f"Example Network {pair:x} AS{asn}" + (" Hosting GmbH" if pair % 3 == 0 else "")


def main(count: int, out=sys.stdout) -> None:
    with gzip.open(CITIES, "rt", encoding="utf-8", newline="") as handle:
        cities = [(int(r["id"]), int(r["population"])) for r in csv.DictReader(handle)]
    rng = random.Random(count)
    picks = rng.choices([c for c, _ in cities], weights=[p for _, p in cities], k=count)
    pairs = max(16, int(count * 0.45))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ip", "city", "asn", "network"])
    for index, city in enumerate(picks):
        asn, network = network_of(rng.randrange(pairs))
        writer.writerow([address(index), city, asn, network])


if __name__ == "__main__":
    main(int(sys.argv[1]))


def changed_rows(size: int, round_number: int, count: int = 1000) -> list:
    """`count` of the `size` generated nodes (a different window each round) moved to other cities."""
    with gzip.open(CITIES, "rt", encoding="utf-8", newline="") as handle:
        cities = [int(r["id"]) for r in csv.DictReader(handle)]
    rng = random.Random(size * 1000 + round_number)
    first = (round_number * count) % max(size - count, 1)
    rows = []
    for index in range(first, first + count):
        asn, network = network_of(index)
        rows.append([address(index), rng.choice(cities), asn, network])
    return rows
