"""A snapshot: every list's table at one data version, read from the database in one consistent view.

`load_snapshot` builds one from nothing, or from the previous one: unchanged reference data is kept, and
nodes are caught up from the change log when it still covers the previous version (a few rows read,
rendered and merged) instead of being read again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from models import City, Country, Region
from models.data_version import Versions, read_versions
from models.base import chunks
from models.database import database, is_postgres
from models.node_changes import changed_node_ids
from readmodel.locations import build_location_table
from readmodel.nodes import ROW_COLUMNS, NodeTable, Places, build_node_table
from readmodel.table import Table

BATCH = 10_000
LOCATION_LISTS = ("regions", "countries", "cities")


@dataclass(frozen=True)
class Snapshot:
    versions: Versions
    tables: dict  # list name -> Table (NodeTable for "nodes")
    places: Places

    @property
    def nodes(self) -> NodeTable:
        return self.tables["nodes"]

    def version_of(self, name: str) -> int:
        """What a response from list `name` depends on: reference data alone, or also nodes."""
        return self.versions.data if name == "nodes" else self.versions.reference


def read_transaction():
    """One consistent view for the whole load: REPEATABLE READ on PostgreSQL; on SQLite a transaction reads
    one snapshot of the WAL from its first read."""
    return database.atomic(isolation_level="REPEATABLE READ") if is_postgres() else database.atomic()


def load_snapshot(specs: dict, previous: Snapshot | None, on_full_build: Callable[[], None] = lambda: None,
                  catch_up: bool = True, on_change: Callable[[], None] = lambda: None) -> Snapshot:
    """The current snapshot, or `previous` itself when nothing changed since it. Reference data is kept
    while its version is the same; nodes are caught up from the change log when it reaches back far enough
    (and `catch_up`), else read again. `on_change` is called when anything changed (before it is loaded),
    `on_full_build` when nodes are read again: there the caller lets go of `previous` (as this function does),
    so that the tables being replaced are not kept meanwhile."""
    with read_transaction():
        versions = read_versions(database)
        if previous is not None and previous.versions == versions and catch_up:
            return previous
        on_change()
        if previous is not None and previous.versions.reference == versions.reference:
            nodes = _caught_up(previous, versions) if catch_up else None
            if nodes is not None:
                return Snapshot(versions, {**previous.tables, "nodes": nodes}, previous.places)
            tables, places = {name: previous.tables[name] for name in LOCATION_LISTS}, previous.places
            previous = None  # the old node table is let go before the new one is built: not both at the peak
            on_full_build()
            tables["nodes"] = build_node_table(node_row_batches(), places, versions.reference_changed_at,
                                               versions.nodes_removed_at, node_count())
            return Snapshot(versions, tables, places)
        previous = None
        on_full_build()
        tables = {name: build_location_table(specs[name], versions.reference_changed_at) for name in LOCATION_LISTS}
        places = load_places(tables["cities"])
        tables["nodes"] = build_node_table(node_row_batches(), places, versions.reference_changed_at,
                                           versions.nodes_removed_at, node_count())
        return Snapshot(versions, tables, places)


def _caught_up(previous: Snapshot, versions: Versions) -> NodeTable | None:
    """The node table moved to `versions` from the change log, or None when a full build is due."""
    table = previous.nodes
    since = previous.versions.data
    if since < versions.change_log_floor:
        return None  # the log no longer reaches back that far
    ids = changed_node_ids(since)
    if len(ids) > max(10_000, len(table) // 4) or table.dead_slots + len(ids) > max(10_000, table.size // 4):
        return None  # as much work as a build, or too many dead slots to keep
    rows = node_rows(ids)
    found = {row[0] for row in rows}
    return table.changed(rows, [node_id for node_id in ids if node_id not in found], versions.nodes_removed_at)


def load_places(cities: Table) -> Places:
    """What nodes take from their cities, given the cities table (its slots are the cities in id order)."""
    rows = cities.rows
    starts = rows.starts[:-1]
    name_end = starts + np.array([rows[index].find(b',"country":{') for index in range(len(rows))], dtype=np.int64)
    place_end = starts + np.array([rows[index].find(b',"population":') + 1 for index in range(len(rows))],
                                  dtype=np.int64)
    city_ids = np.array([city for (city,) in City.select(City.id).order_by(City.id).tuples()], dtype=np.int64)
    city_index = {city: index for index, city in enumerate(city_ids.tolist())}
    city_rank = _name_ranks(City.select(City.id, City.name).order_by(City.name, City.id).tuples(), city_index)
    countries = list(Country.select(Country.code).order_by(Country.code).tuples())
    country_index = {code: index for index, (code,) in enumerate(countries)}
    country_rank = _name_ranks(Country.select(Country.code, Country.name).order_by(Country.name, Country.code)
                               .tuples(), country_index)
    region_rank = np.zeros(1000, dtype=np.int64)  # indexed by M49 code
    for region_id, rank in _distinct_names(Region.select(Region.id, Region.name).order_by(Region.name, Region.id)
                                           .tuples()):
        region_rank[region_id] = rank
    return Places(cities=rows, name_end=name_end, place_end=place_end, city_ids=city_ids, city_rank=city_rank,
                  country_index=country_index, country_rank=country_rank, region_rank=region_rank,
                  coordinates=cities.coordinates)


def _distinct_names(ordered_rows):
    """(key, rank) in the database's name order; equal names (as the database compares them) share a rank."""
    rank, previous = -1, object()
    for key, name in ordered_rows:
        if name != previous:
            rank, previous = rank + 1, name
        yield key, rank


def _name_ranks(ordered_rows, index: dict) -> np.ndarray:
    ranks = np.zeros(len(index), dtype=np.int64)
    for key, rank in _distinct_names(ordered_rows):
        ranks[index[key]] = rank
    return ranks


def node_row_batches():
    """Every node row, in id order, BATCH at a time: keyset batches, so no server-side cursor is needed
    (PgBouncer and SQLite alike) and the transaction's snapshot keeps them consistent."""
    param = database.param
    after = 0
    while True:
        rows = database.execute_sql(f"SELECT {ROW_COLUMNS} FROM node WHERE id > {param} ORDER BY id LIMIT {BATCH}",
                                    (after,)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def node_count() -> int:
    """How many rows node_row_batches will give (in the same transaction): the columns are allocated once."""
    return database.execute_sql("SELECT count(*) FROM node").fetchone()[0]


def node_rows(ids: list) -> list:
    rows = []
    for chunk in chunks(ids):
        marks = ", ".join([database.param] * len(chunk))
        rows += database.execute_sql(f"SELECT {ROW_COLUMNS} FROM node WHERE id IN ({marks})", chunk).fetchall()
    return rows
