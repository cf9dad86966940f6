"""Writing nodes: one transaction, new addresses inserted, changed ones updated in place."""
from __future__ import annotations

from dataclasses import dataclass

from models.database import write_transaction
from models.location import City
from models.node import Node, naive_utc_now
from models.node_changes import prune_change_log

BATCH = 500  # rows per statement: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class NodeRow:
    line: int  # where the row came from, for messages
    ip: str  # canonical text form
    city: int
    asn: int | None = None
    network: str | None = None


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int
    unchanged: int


class UnknownCity(ValueError):
    def __init__(self, row: NodeRow):
        super().__init__(f"line {row.line}: city {row.city} is not a known GeoNames city id")
        self.row = row


def _chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def upsert_nodes(rows: list[NodeRow]) -> UpsertCounts:
    """All rows or none. A row whose address exists updates that node (same id)."""
    with write_transaction():
        places = {}
        for ids in _chunks(sorted({row.city for row in rows})):
            query = City.select(City.id, City.country, City.region).where(City.id.in_(ids)).tuples()
            places.update({city: (country, region) for city, country, region in query})
        for row in rows:
            if row.city not in places:
                raise UnknownCity(row)

        existing = {}
        for ips in _chunks([row.ip for row in rows]):
            query = Node.select(Node.ip, Node.asn, Node.network, Node.city).where(Node.ip.in_(ips)).tuples()
            existing.update({ip: rest for ip, *rest in query})

        now = naive_utc_now()
        writes, created = [], 0
        for row in rows:
            current = existing.get(row.ip)
            if current == [row.asn, row.network, row.city]:
                continue
            created += current is None
            country, region = places[row.city]
            writes.append({
                "ip": row.ip, "asn": row.asn, "network": row.network, "city": row.city,
                "country": country, "region": region, "created_at": now, "updated_at": now,
            })
        # Every importer writes addresses in the same order, so two at once wait for each other on PostgreSQL
        # instead of deadlocking.
        writes.sort(key=lambda write: write["ip"])
        for batch in _chunks(writes):
            # ON CONFLICT keeps a concurrent importer of the same address from failing this one.
            (Node.insert_many(batch)
             .on_conflict(conflict_target=[Node.ip],
                          preserve=[Node.asn, Node.network, Node.city, Node.country, Node.region, Node.updated_at])
             .execute())
        prune_change_log()
    return UpsertCounts(created=created, updated=len(writes) - created, unchanged=len(rows) - len(writes))
