"""Nodes in memory: per node three pre-rendered pieces and a few integer columns; indexes over them.

A node's JSON is its own head, its city's place fragment (shared by every node in that city) and its tail
of times (shared by every node written in the same second): about 120 bytes of its own per node instead of
330. A change to a few nodes makes a new table sharing every unchanged piece with the old one; only the
columns (a few bytes a node) are copied and the indexes merged.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from readmodel.index import SLOT_BITS, SLOT_MASK, Groups, Ordering
from readmodel.table import Table
from schemas.nodes import node_head, node_tail, timestamp_seconds, timestamp_text

# The group value of a node without an ASN: no filter value (0..2**32-1) can name it.
NULL_ASN = 2**32
ROW_COLUMNS = "id, ip, asn, network, city_id, country_id, region_id, created_at, updated_at"


@dataclass(frozen=True)
class Places:
    """What a node takes from its city, at one reference version."""

    fragments: list  # node_place() per city index
    city_index: dict  # city id -> city index
    city_rank: np.ndarray  # per city index: the rank of its name in the database's order (equal names share it)
    country_index: dict  # country code -> country index
    country_rank: np.ndarray  # per country index: rank of its name
    region_rank: np.ndarray  # per region id (M49 codes are below 1000): rank of its name


@dataclass(frozen=True)
class NodeColumns:
    """One entry per slot; a dead slot keeps stale values that no index refers to."""

    ids: np.ndarray  # int64
    city: np.ndarray  # int64 city id
    place: np.ndarray  # int32 city index into Places
    country: np.ndarray  # int64 country index
    region: np.ndarray  # int64 region id
    asn: np.ndarray  # int64, NULL_ASN for none
    family: np.ndarray  # int64, 4 or 6
    updated: np.ndarray  # int64 seconds since the epoch
    alive: np.ndarray  # bool

    def grown(self, extra: int) -> "NodeColumns":
        """A copy with `extra` more (dead) slots."""
        return NodeColumns(**{name: np.concatenate([getattr(self, name), np.zeros(extra, getattr(self, name).dtype)])
                              for name in self.__dataclass_fields__})


class RowParts:
    """Turns node rows into their rendered pieces and column values, sharing equal tails."""

    def __init__(self, places: Places):
        self.places = places
        self._tails: dict = {}
        self._seconds: dict = {}

    def __call__(self, row):
        node_id, ip, asn, network, city, country, region, created, updated = row
        tail_key = (created, updated)
        tail = self._tails.get(tail_key)
        if tail is None:
            tail = self._tails[tail_key] = node_tail(timestamp_text(created), timestamp_text(updated))
        seconds = self._seconds.get(updated)
        if seconds is None:
            seconds = self._seconds[updated] = timestamp_seconds(updated)
        places = self.places
        return (node_head(node_id, ip, asn, network), tail, (ip + "\n").encode(),
                (node_id, city, places.city_index[city], places.country_index[country], region,
                 NULL_ASN if asn is None else asn, 6 if ":" in ip else 4, seconds))


GROUPED = ("id", "country", "city", "region", "asn", "family")
COLUMN_OF_GROUP = {"id": "ids", "country": "country", "city": "city", "region": "region", "asn": "asn",
                   "family": "family"}


def ordering_keys(columns: NodeColumns, places: Places) -> dict:
    """Each ordering's unique key per slot: the related name's rank, then the id (contract §3)."""
    ids = columns.ids
    return {
        "id": ids,
        "city": (places.city_rank[columns.place].astype(np.int64) << 32) | ids,
        "country": (places.country_rank[columns.country].astype(np.int64) << 32) | ids,
        "region": (places.region_rank[columns.region].astype(np.int64) << 32) | ids,
    }


class NodeTable(Table):
    def __init__(self, *, columns: NodeColumns, heads: list, tails: list, ips: list, places: Places,
                 orderings: dict, groups: dict, reference_changed_at: int, removed_at: int):
        live_count = len(orderings["id"].slots)
        super().__init__(size=len(heads), live=orderings["id"].slots, orderings=orderings, groups=groups,
                         vocabularies={"country": places.country_index}, rows=heads,
                         last_modified=max(reference_changed_at, removed_at,
                                           int(columns.updated[columns.alive].max()) if live_count else 0))
        self.columns = columns
        self.heads, self.tails, self.ips = heads, tails, ips
        self.places = places
        self.reference_changed_at = reference_changed_at
        self.removed_at = removed_at

    @property
    def dead_slots(self) -> int:
        return self.size - len(self.live)

    def render(self, slots) -> list:
        heads, tails, fragments = self.heads, self.tails, self.places.fragments
        places = self.columns.place[slots].tolist()
        return [heads[slot] + fragments[place] + tails[slot] for slot, place in zip(slots.tolist(), places)]

    def render_record(self, slot: int) -> bytes:
        return self.heads[slot] + self.places.fragments[int(self.columns.place[slot])] + self.tails[slot]

    def text(self, slots) -> bytes:
        """The addresses of `slots`, one a line."""
        return b"".join(map(self.ips.__getitem__, slots.tolist()))

    def modified(self, matches) -> int:
        """When the list of `matches` last changed (seconds): its newest node, the last removal of any node
        (which no remaining row shows), or the reference data."""
        if len(matches) == len(self.live):
            return self.last_modified
        newest = int(self.columns.updated[matches].max()) if len(matches) else 0
        return max(newest, self.removed_at, self.reference_changed_at)

    def record_modified(self, slot: int) -> int:
        return max(int(self.columns.updated[slot]), self.reference_changed_at)

    def changed(self, rows: list, gone: list, removed_at: int) -> "NodeTable":
        """A new table with `rows` (current rows of changed nodes) written and the nodes `gone` removed."""
        known = self._slots_of_ids([row[0] for row in rows] + list(gone))
        fresh = [row for row, slot in zip(rows, known) if slot < 0]
        first_new = self.size
        columns = self.columns.grown(len(fresh))
        heads = self.heads + [None] * len(fresh)
        tails = self.tails + [None] * len(fresh)
        ips = self.ips + [None] * len(fresh)

        removed = np.zeros(len(heads), dtype=bool)
        added = []
        parts = RowParts(self.places)
        new_slots = iter(range(first_new, first_new + len(fresh)))
        for row, slot in zip(rows, known):
            if slot >= 0:
                removed[slot] = True
            else:
                slot = next(new_slots)
            heads[slot], tails[slot], ips[slot], values = parts(row)
            _store(columns, slot, values)
            added.append(slot)
        for slot in known[len(rows):]:
            if slot >= 0:
                removed[slot] = True
                columns.alive[slot] = False
                heads[slot] = tails[slot] = ips[slot] = None

        added = np.array(added, dtype=np.int64)
        keys = ordering_keys(columns, self.places)
        orderings = {name: ordering.changed(keys[name], removed, added) for name, ordering in self.orderings.items()}
        groups = {name: index.changed(getattr(columns, COLUMN_OF_GROUP[name]), removed, added)
                  for name, index in self.groups.items()}
        return NodeTable(columns=columns, heads=heads, tails=tails, ips=ips, places=self.places,
                         orderings=orderings, groups=groups, reference_changed_at=self.reference_changed_at,
                         removed_at=removed_at)

    def _slots_of_ids(self, ids: list) -> list:
        """The live slot of each id, or -1."""
        packed = self.groups["id"].packed
        if not len(packed):
            return [-1] * len(ids)
        stored = (packed >> np.uint64(SLOT_BITS)).astype(np.int64)
        query = np.array(ids, dtype=np.int64)
        positions = np.minimum(np.searchsorted(stored, query), len(stored) - 1)
        slots = (packed[positions] & SLOT_MASK).astype(np.int64)
        return np.where(stored[positions] == query, slots, -1).tolist()


def _store(columns: NodeColumns, slot: int, values) -> None:
    node_id, city, place, country, region, asn, family, updated = values
    columns.ids[slot], columns.city[slot], columns.place[slot] = node_id, city, place
    columns.country[slot], columns.region[slot], columns.asn[slot] = country, region, asn
    columns.family[slot], columns.updated[slot], columns.alive[slot] = family, updated, True


def build_node_table(batches, places: Places, reference_changed_at: int, removed_at: int) -> NodeTable:
    """A table of every row in `batches` (lists of rows with ROW_COLUMNS)."""
    heads, tails, ips = [], [], []
    values = [array("q") for _ in range(8)]
    parts = RowParts(places)
    for rows in batches:
        for row in rows:
            head, tail, ip, row_values = parts(row)
            heads.append(head)
            tails.append(tail)
            ips.append(ip)
            for column, value in zip(values, row_values):
                column.append(value)
    ids, city, place, country, region, asn, family, updated = (np.frombuffer(column, dtype=np.int64).copy()
                                                                if len(column) else np.zeros(0, np.int64)
                                                                for column in values)
    columns = NodeColumns(ids=ids, city=city, place=place.astype(np.int32), country=country, region=region,
                          asn=asn, family=family, updated=updated, alive=np.ones(len(heads), dtype=bool))
    live = np.arange(len(heads), dtype=np.int32)
    keys = ordering_keys(columns, places)
    orderings = {name: Ordering.build(keys[name], live) for name in keys}
    groups = {name: Groups.build(getattr(columns, COLUMN_OF_GROUP[name]), live) for name in GROUPED}
    return NodeTable(columns=columns, heads=heads, tails=tails, ips=ips, places=places, orderings=orderings,
                     groups=groups, reference_changed_at=reference_changed_at, removed_at=removed_at)

