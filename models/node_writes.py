"""Writing nodes: one transaction, new addresses inserted, changed ones updated in place.

One node (the API's writes) is written through the Node model. Many (imports) go by statements written here
once per batch size rather than built by peewee per batch: building a
500-row INSERT took two thirds of an import (measured: 14 of 24 s for 100,000 rows). On PostgreSQL a large
write goes through COPY into a temporary table and one INSERT ... SELECT, since formatting and planning
huge VALUES lists cost more than the insert itself (68 µs a row in 5,000-row statements). Writers hold the
data_version row (models/database.py), so no other writer changes nodes meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from models.base import chunks
from models.database import database, is_postgres, write_transaction
from models.node import Node, naive_utc_now
from models.node_changes import prune_change_log

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


def marks(count: int) -> str:
    return ", ".join([database.param] * count)


@cache
def insert_sql(rows: int, param: str) -> str:
    """An INSERT of `rows` new nodes. Only new addresses are inserted: on PostgreSQL an `INSERT ... ON CONFLICT`
    takes an id from the sequence for every row it tries, so a sync of an unchanged file would burn ids."""
    row = "(" + ", ".join([param] * len(COLUMNS)) + ")"
    return f"INSERT INTO node ({', '.join(COLUMNS)}) VALUES {', '.join([row] * rows)} RETURNING id, ip"


UPDATED = ("asn", "network", "city_id", "country_id", "region_id", "updated_at")
# PostgreSQL gives a VALUES column of NULLs (or of untyped strings) the type text: say what each one is.
POSTGRES_TYPES = ("text", "bigint", "text", "integer", "text", "integer", "timestamp")


@cache
def update_sql(rows: int, postgres: bool) -> str:
    """An UPDATE of `rows` stored nodes, found by address, to the values given for each."""
    row = ("(" + ", ".join(f"%s::{kind}" for kind in POSTGRES_TYPES) + ")" if postgres
           else "(" + ", ".join(["?"] * len(POSTGRES_TYPES)) + ")")
    named = ", ".join(f"column{index + 2} AS {column}" for index, column in enumerate(UPDATED))
    sets = ", ".join(f"{column} = given.{column}" for column in UPDATED)
    return (f"UPDATE node SET {sets} FROM (SELECT column1 AS given_ip, {named} FROM (VALUES {', '.join([row] * rows)})"
            " AS given_rows) AS given WHERE node.ip = given.given_ip RETURNING id, ip")


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


def upsert_nodes(rows: list[NodeRow], changes=None) -> UpsertCounts:
    """All rows or none. A row whose address exists updates that node (same id) when anything differs.
    `changes` (a ChangeLog) records each node written."""
    with write_transaction():
        created, updated = _upsert(rows, changes or NO_LOG)
        prune_change_log()
    return UpsertCounts(created=created, updated=updated, unchanged=len(rows) - created - updated)


class NoLog:
    def record(self, action: str, node_id: int, ip: str) -> None:
        pass


NO_LOG = NoLog()


def _upsert(rows: list[NodeRow], changes) -> tuple[int, int]:
    now = naive_utc_now()
    if is_postgres() and len(rows) >= COPY_FROM:
        return _copy_upsert(rows, now, changes)
    return _batched_upsert(rows, now, changes)


def _batched_upsert(rows: list[NodeRow], now, changes) -> tuple[int, int]:
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
        fresh = [row for row in writes if row.ip not in current]
        if fresh:
            params = []
            for row in fresh:
                params += (row.ip, row.asn, row.network, row.city, *places[row.city], now, now)
            for node_id, ip in database.execute_sql(insert_sql(len(fresh), database.param), params).fetchall():
                changes.record("created", node_id, ip)
            created += len(fresh)
        moved = [row for row in writes if row.ip in current]
        if moved:
            params = []
            for row in moved:
                params += (row.ip, row.asn, row.network, row.city, *places[row.city], now)
            for node_id, ip in database.execute_sql(update_sql(len(moved), is_postgres()), params).fetchall():
                changes.record("updated", node_id, ip)
            updated += len(moved)
    return created, updated


# The changed stored nodes, then the new ones (ids are taken only for those: see insert_sql).
COPY_UPDATE = """
    UPDATE node SET asn = i.asn, network = i.network, city_id = i.city_id, country_id = c.country_id,
        region_id = c.region_id, updated_at = %s
    FROM node_import i JOIN city c ON c.id = i.city_id
    WHERE node.ip = i.ip
        AND (node.asn, node.network, node.city_id) IS DISTINCT FROM (i.asn, i.network, i.city_id)
    RETURNING node.id, node.ip
"""
COPY_INSERT = """
    INSERT INTO node (ip, asn, network, city_id, country_id, region_id, created_at, updated_at)
    SELECT i.ip, i.asn, i.network, i.city_id, c.country_id, c.region_id, %s, %s
    FROM node_import i JOIN city c ON c.id = i.city_id
    WHERE NOT EXISTS (SELECT 1 FROM node n WHERE n.ip = i.ip) ORDER BY i.line
    RETURNING id, ip
"""


def _copy_upsert(rows: list[NodeRow], now, changes) -> tuple[int, int]:
    """PostgreSQL: the rows COPY'd into a temporary table, checked, and written by one statement."""
    database.execute_sql("CREATE TEMPORARY TABLE node_import (line integer, ip text, asn bigint, network text, "
                         "city_id integer) ON COMMIT DROP")
    with database.cursor() as cursor:
        cursor.copy_expert("COPY node_import FROM STDIN WITH (FORMAT csv)", CsvStream(_csv_line(row) for row in rows))
    unknown = database.execute_sql(
        "SELECT i.line, i.city_id FROM node_import i LEFT JOIN city c ON c.id = i.city_id "
        "WHERE c.id IS NULL ORDER BY i.line LIMIT 1").fetchone()
    if unknown:
        raise UnknownCity(next(row for row in rows if row.line == unknown[0]))
    counts = {"updated": 0, "created": 0}
    for action, sql, params in (("updated", COPY_UPDATE, (now,)), ("created", COPY_INSERT, (now, now))):
        cursor = database.execute_sql(sql, params)
        while batch := cursor.fetchmany(10_000):
            for node_id, ip in batch:
                changes.record(action, node_id, ip)
            counts[action] += len(batch)
    database.execute_sql("DROP TABLE node_import")
    return counts["created"], counts["updated"]


class CsvStream:
    """Lines for COPY, produced as COPY reads them (no file, no second copy of them all)."""

    def __init__(self, lines):
        self._lines = iter(lines)
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


# --- sync, and removal by address ------------------------------------------------------------

# A sync may remove at most this share of the stored nodes unless told how many may go: a truncated file
# would otherwise empty every firewall that reads the list.
SYNC_REMOVAL_SHARE = 0.10


@dataclass(frozen=True)
class SyncCounts:
    created: int
    updated: int
    unchanged: int
    removed: int


class TooManyRemovals(ValueError):
    def __init__(self, removals: int, stored: int, allowed: int | None):
        self.removals, self.stored, self.allowed = removals, stored, allowed
        allowance = (f"--allow-removals {allowed} allows fewer" if allowed is not None else
                     f"more than {SYNC_REMOVAL_SHARE:.0%} of them")
        super().__init__(f"the file would remove {removals} of the {stored} stored nodes ({allowance}); if that "
                         f"is meant, run again with --allow-removals {removals}")


class UnknownAddresses(LookupError):
    def __init__(self, ips: list[str]):
        self.ips = ips
        super().__init__(f"no node has the address{'es' if len(ips) > 1 else ''} {', '.join(ips[:10])}"
                         + (f" and {len(ips) - 10} more" if len(ips) > 10 else ""))


def sync_nodes(rows: list[NodeRow], allow_removals: int | None = None, changes=None) -> SyncCounts:
    """The stored nodes become exactly `rows`: all or nothing, within the removal guard."""
    changes = changes or NO_LOG
    with write_transaction():
        stored_count = database.execute_sql("SELECT count(*) FROM node").fetchone()[0]
        created, updated = _upsert(rows, changes)
        _keep_only(row.ip for row in rows)
        removals = database.execute_sql("SELECT count(*) FROM node WHERE ip NOT IN (SELECT ip FROM node_keep)"
                                        ).fetchone()[0]
        within_share = removals <= stored_count * SYNC_REMOVAL_SHARE
        if removals and not within_share and (allow_removals is None or removals > allow_removals):
            raise TooManyRemovals(removals, stored_count, allow_removals)
        for node_id, ip in database.execute_sql(
                "DELETE FROM node WHERE ip NOT IN (SELECT ip FROM node_keep) RETURNING id, ip").fetchall():
            changes.record("removed", node_id, ip)
        database.execute_sql("DROP TABLE node_keep")
        prune_change_log()
    return SyncCounts(created, updated, len(rows) - created - updated, removals)


def _keep_only(ips) -> None:
    """A temporary table node_keep of the addresses a sync keeps."""
    database.execute_sql("CREATE TEMPORARY TABLE node_keep (ip text PRIMARY KEY)"
                         + (" ON COMMIT DROP" if is_postgres() else ""))
    if is_postgres():
        with database.cursor() as cursor:
            cursor.copy_expert("COPY node_keep FROM STDIN", CsvStream(f"{ip}\n".encode() for ip in ips))
    else:
        database.cursor().executemany("INSERT INTO node_keep VALUES (?)", ((ip,) for ip in ips))


def remove_nodes(ips: list[str], changes=None) -> list[tuple[int, str]]:
    """The nodes with these addresses, removed: all of them, or (an address that no node has) none."""
    changes = changes or NO_LOG
    with write_transaction():
        found = {}
        for batch in chunks(sorted(set(ips))):
            found.update(stored(batch))
        missing = [ip for ip in dict.fromkeys(ips) if ip not in found]
        if missing:
            raise UnknownAddresses(missing)
        removed = []
        for batch in chunks(sorted(found)):
            removed += database.execute_sql(f"DELETE FROM node WHERE ip IN ({marks(len(batch))}) RETURNING id, ip",
                                            batch).fetchall()
        for node_id, ip in removed:
            changes.record("removed", node_id, ip)
        prune_change_log()
    return removed


# --- one node at a time (the API) ------------------------------------------------------------

class AddressTaken(ValueError):
    def __init__(self, ip: str, node_id: int):
        self.ip, self.node_id = ip, node_id
        super().__init__(f"The address {ip} is already node {node_id}.")


class NodeMissing(LookupError):
    pass


WRITABLE = ("ip", "city", "asn", "network")


def node_of_address(ip: str) -> int | None:
    return Node.select(Node.id).where(Node.ip == ip).scalar()


def create_node(row: NodeRow, changes=None) -> int:
    """A new node; its id. AddressTaken, UnknownCity."""
    with write_transaction():
        taken = node_of_address(row.ip)
        if taken is not None:
            raise AddressTaken(row.ip, taken)
        place = places_of({row.city}).get(row.city)
        if place is None:
            raise UnknownCity(row)
        now = naive_utc_now()
        node_id = Node.insert(ip=row.ip, asn=row.asn, network=row.network, city=row.city, country=place[0],
                              region=place[1], created_at=now, updated_at=now).execute()
        (changes or NO_LOG).record("created", node_id, row.ip)
        prune_change_log()
    return node_id


def update_node(node_id: int, fields: dict, changes=None) -> bool:
    """`fields` (any of ip, city, asn, network) written to the node; True when anything changed (updated_at
    moves only then). NodeMissing, AddressTaken, UnknownCity. A caller with preconditions checks them first,
    in the same write transaction (resources/nodes.py)."""
    with write_transaction():
        current = Node.select(Node.ip, Node.city, Node.asn, Node.network).where(Node.id == node_id).tuples().first()
        if current is None:
            raise NodeMissing(node_id)
        before = dict(zip(WRITABLE, current))
        after = {**before, **fields}
        if after == before:
            return False
        if after["ip"] != before["ip"]:
            taken = node_of_address(after["ip"])
            if taken is not None:
                raise AddressTaken(after["ip"], taken)
        place = places_of({after["city"]}).get(after["city"])
        if place is None:
            raise UnknownCity(NodeRow(line=0, ip=after["ip"], city=after["city"]))
        (Node.update(ip=after["ip"], city=after["city"], country=place[0], region=place[1], asn=after["asn"],
                     network=after["network"], updated_at=naive_utc_now())
         .where(Node.id == node_id).execute())
        (changes or NO_LOG).record("updated", node_id, after["ip"])
        prune_change_log()
    return True


def delete_node(node_id: int, changes=None) -> None:
    """The node removed. NodeMissing."""
    with write_transaction():
        ip = Node.select(Node.ip).where(Node.id == node_id).scalar()
        if ip is None:
            raise NodeMissing(node_id)
        Node.delete().where(Node.id == node_id).execute()
        (changes or NO_LOG).record("removed", node_id, ip)
        prune_change_log()
