"""Writing nodes: one transaction, new addresses inserted, changed ones updated in place.

The statements are written here once per batch size rather than built by peewee per batch: building a
500-row INSERT took two thirds of an import (measured: 14 of 24 s for 100,000 rows). On PostgreSQL a large
write goes through COPY into a temporary table and one INSERT ... SELECT, since formatting and planning
huge VALUES lists cost more than the insert itself (68 µs a row in 5,000-row statements). Writers hold the
data_version row (models/database.py), so no other writer changes nodes meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from models.database import database, is_postgres, write_transaction
from models.node import naive_utc_now
from models.node_changes import prune_change_log

BATCH = 500  # rows per statement: well under SQLite's bound-parameter limit
# From this many rows, PostgreSQL writes through COPY.
COPY_FROM = 2000
COLUMNS = ("ip", "asn", "network", "city_id", "country_id", "region_id", "created_at", "updated_at")


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


def chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def marks(count: int) -> str:
    return ", ".join([database.param] * count)


@cache
def upsert_sql(rows: int, param: str) -> str:
    """An INSERT of `rows` nodes whose address may exist: then its place and network are updated."""
    row = "(" + ", ".join([param] * len(COLUMNS)) + ")"
    updated = ", ".join(f"{column} = excluded.{column}" for column in COLUMNS if column not in ("ip", "created_at"))
    return (f"INSERT INTO node ({', '.join(COLUMNS)}) VALUES {', '.join([row] * rows)} "
            f"ON CONFLICT (ip) DO UPDATE SET {updated}")


def places_of(cities: set) -> dict:
    """city id -> (country code, region id), for the cities that exist."""
    places = {}
    for ids in chunks(sorted(cities)):
        cursor = database.execute_sql(f"SELECT id, country_id, region_id FROM city WHERE id IN ({marks(len(ids))})",
                                      ids)
        places.update({city: (country, region) for city, country, region in cursor.fetchall()})
    return places


def stored(ips: list) -> dict:
    """address -> (asn, network, city id) of the stored nodes among `ips`."""
    cursor = database.execute_sql(f"SELECT ip, asn, network, city_id FROM node WHERE ip IN ({marks(len(ips))})", ips)
    return {ip: (asn, network, city) for ip, asn, network, city in cursor.fetchall()}


def upsert_nodes(rows: list[NodeRow]) -> UpsertCounts:
    """All rows or none. A row whose address exists updates that node (same id) when anything differs."""
    with write_transaction():
        if is_postgres() and len(rows) >= COPY_FROM:
            created, updated = _copy_upsert(rows, naive_utc_now())
        else:
            created, updated = _batched_upsert(rows, naive_utc_now())
        prune_change_log()
    return UpsertCounts(created=created, updated=updated, unchanged=len(rows) - created - updated)


def _batched_upsert(rows: list[NodeRow], now) -> tuple[int, int]:
    places = places_of({row.city for row in rows})
    for row in rows:
        if row.city not in places:
            raise UnknownCity(row)
    created = updated = 0
    for batch in chunks(rows):
        current = stored([row.ip for row in batch])
        writes = [row for row in batch if current.get(row.ip) != (row.asn, row.network, row.city)]
        if not writes:
            continue
        params = []
        for row in writes:
            params += (row.ip, row.asn, row.network, row.city, *places[row.city], now, now)
        database.execute_sql(upsert_sql(len(writes), database.param), params)
        new = sum(row.ip not in current for row in writes)
        created, updated = created + new, updated + len(writes) - new
    return created, updated


COPY_UPSERT = """
    WITH written AS (
        INSERT INTO node (ip, asn, network, city_id, country_id, region_id, created_at, updated_at)
        SELECT i.ip, i.asn, i.network, i.city_id, c.country_id, c.region_id, %s, %s
        FROM node_import i JOIN city c ON c.id = i.city_id ORDER BY i.line
        ON CONFLICT (ip) DO UPDATE SET asn = excluded.asn, network = excluded.network, city_id = excluded.city_id,
            country_id = excluded.country_id, region_id = excluded.region_id, updated_at = excluded.updated_at
        WHERE (node.asn, node.network, node.city_id) IS DISTINCT FROM (excluded.asn, excluded.network, excluded.city_id)
        RETURNING xmax = 0 AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""


def _copy_upsert(rows: list[NodeRow], now) -> tuple[int, int]:
    """PostgreSQL: the rows COPY'd into a temporary table, checked, and written by one statement."""
    database.execute_sql("CREATE TEMPORARY TABLE node_import (line integer, ip text, asn bigint, network text, "
                         "city_id integer) ON COMMIT DROP")
    with database.cursor() as cursor:
        cursor.copy_expert("COPY node_import FROM STDIN WITH (FORMAT csv)", CsvStream(rows))
    unknown = database.execute_sql(
        "SELECT i.line, i.city_id FROM node_import i LEFT JOIN city c ON c.id = i.city_id "
        "WHERE c.id IS NULL ORDER BY i.line LIMIT 1").fetchone()
    if unknown:
        raise UnknownCity(next(row for row in rows if row.line == unknown[0]))
    return database.execute_sql(COPY_UPSERT, (now, now)).fetchone()


class CsvStream:
    """The rows as CSV for COPY, produced as COPY reads it (no file, no second copy of them all)."""

    def __init__(self, rows: list[NodeRow]):
        self._lines = (_csv_line(row) for row in rows)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._buffer += line
        data, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
        return data

    readline = read


def _csv_line(row: NodeRow) -> bytes:
    network = "" if row.network is None else '"' + row.network.replace('"', '""') + '"'
    asn = "" if row.asn is None else str(row.asn)
    # An empty unquoted field is NULL in COPY's CSV; a quoted one is an empty string.
    return f"{row.line},{row.ip},{asn},{network},{row.city}\n".encode()
