"""Nodes in memory: per node its address line in a blob and a few integer columns; indexes over them.

A node's JSON is formatted from its id and address, then three shared pieces: its ASN and network (one per
distinct pair), its city's place (cut from the city's row) and its times (one per distinct pair of times,
shared by every node written in the same second). About 145 bytes a node in all (docs/architecture.md). A
change to a few nodes makes a new table sharing every unchanged piece with the old one: the changed addresses
go to a small overlay over the blob, the columns (a few dozen bytes a node) are copied and the indexes merged.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, fields
from functools import partial
from typing import NamedTuple

import numpy as np

from models.distance import metres_from
from readmodel import instance_version
from readmodel.blob import Blob, BlobWriter, Layered
from readmodel.city_lines import SiteLines, Sites, reversed_bytes, tied_runs
from readmodel.heap import release_free_memory
from readmodel.index import EMPTY_SLOTS, Coordinates, Groups, Ordering, runs, search_keys
from readmodel.list_files import (ADDRESSES, CIDR, ORDERED_KEPT, ListFile, addresses_digest, list_file, ordered_digest,
                                  ordered_kind, part_name)
from readmodel.pieces import SharedPieces
from readmodel.table import Table, in_distance_order, with_distances
from schemas.cidr import AddressOrder, blocks_in_chunks, packed, packed_order
from schemas.nodes import node_network, node_tail, timestamp_seconds, timestamp_text

# The group value of a node without an ASN: no filter value (0..2**32-1) can name it.
NULL_ASN = 2**32
ROW_COLUMNS = "id, ip, asn, network, city_id, country_id, region_id, created_at, updated_at"
# Node ids are held in 32 bits here (an ordering's key is the name's rank << 32 | id). Ids are 64-bit in the
# database but taken only by nodes actually added, so larger ones are four billion creations away; a database
# that has them is served from SQL (ReadModelLimit).
MAX_NODE_ID = 2**32 - 1
FAMILIES = (4, 6)
PARSED_AT_ONCE = 10_000  # addresses turned into integers at once, when they are first put in address order
# Addresses laid out site by site kept per table, as a multiple of its nodes (readmodel/city_lines.py).
SITE_LINES_KEPT = 2
FEW_VALUES = 8  # a radius's matches are filtered by comparisons up to this many values, else by np.isin


class ReadModelLimit(RuntimeError):
    """The data holds what the read model cannot (a node id above MAX_NODE_ID): every read goes to the
    database."""


def within_limit(highest_id: int) -> None:
    if highest_id > MAX_NODE_ID:
        raise ReadModelLimit(f"node id {highest_id} is above the read model's {MAX_NODE_ID}; reads are served "
                             "from the database")


@dataclass(frozen=True)
class Places:
    """What a node takes from its city, at one reference version.

    A node's place fragment (`"city":{"id","name"},"country":…,"region":…,"latitude":…,"longitude":…,`) is cut
    out of its city's row in the cities table: the city's id and name, then everything from its country to its
    longitude. Escaped JSON strings cannot hold the unescaped `,"country":{` and `,"population":` it is cut
    at; tests hold the result to NodeSchema byte for byte.
    """

    cities: Blob  # the cities table's rows, by city index
    name_end: np.ndarray  # int64 per city index: where `,"country":{` starts in its row, in cities.data
    place_end: np.ndarray  # int64 per city index: where `"population":` starts, in cities.data
    city_ids: np.ndarray  # city id per city index, ascending
    city_rank: np.ndarray  # per city index: the rank of its name in the database's order (equal names share it)
    country_index: dict  # country code -> country index
    country_rank: np.ndarray  # per country index: rank of its name
    region_rank: np.ndarray  # per region id (M49 codes are below 1000): rank of its name
    coordinates: Coordinates  # per city index

    def city_index(self, city_ids) -> np.ndarray:
        return np.searchsorted(self.city_ids, city_ids).astype(np.int32)

    def fragments(self, indexes: np.ndarray) -> list:
        data = self.cities.data
        return [b'"city":%s},%s' % (data[start:name_end], data[name_end + 1:place_end])
                for start, name_end, place_end in zip(self.cities.starts[indexes].tolist(),
                                                      self.name_end[indexes].tolist(), self.place_end[indexes].tolist())]


@dataclass(frozen=True)
class NodeColumns:
    """One entry per slot; a dead slot keeps stale values that no index refers to."""

    ids: np.ndarray  # uint32 (see MAX_NODE_ID)
    place: np.ndarray  # int32 city index into Places (the city id is Places.city_ids[place]: no column of its own)
    country: np.ndarray  # int16 country index
    region: np.ndarray  # int16 region id
    asn: np.ndarray  # int64, NULL_ASN for none
    family: np.ndarray  # int8, 4 or 6
    updated: np.ndarray  # uint32 seconds since the epoch (to 2106; 4 MiB less a worker at 1,000,000 nodes)
    tail: np.ndarray  # int32 index into the table's tails
    network: np.ndarray  # int32 index into the table's networks
    alive: np.ndarray  # bool


DTYPES = {"ids": np.uint32, "place": np.int32, "country": np.int16, "region": np.int16,
          "asn": np.int64, "family": np.int8, "updated": np.uint32, "tail": np.int32, "network": np.int32}


class RowParts:
    """Turns a batch of node rows into their address lines and column values, sharing networks and tails."""

    def __init__(self, places: Places, networks: SharedPieces, tails: SharedPieces):
        self.places = places
        self.networks, self.tails = networks, tails
        self._seconds: dict = {}

    def __call__(self, rows: list) -> tuple[list, dict]:
        """(address lines, {column: values}) of `rows` (ROW_COLUMNS), all but the place."""
        ids, ips, asns, names, cities, countries, regions, created, updated = zip(*rows)
        country_index = self.places.country_index
        return [(ip + "\n").encode() for ip in ips], {
            "ids": np.array(ids, dtype=np.int64), "city": np.array(cities, dtype=np.int64),
            "country": np.array([country_index[code] for code in countries], dtype=np.int64),
            "region": np.array(regions, dtype=np.int64),
            "asn": np.array([NULL_ASN if asn is None else asn for asn in asns], dtype=np.int64),
            "family": np.array([6 if ":" in ip else 4 for ip in ips], dtype=np.int64),
            "updated": np.array([self._seconds_of(value) for value in updated], dtype=np.int64),
            "tail": self.tails.positions([node_tail(timestamp_text(first), timestamp_text(last))
                                          for first, last in zip(created, updated)]),
            "network": self.networks.positions([node_network(asn, name) for asn, name in zip(asns, names)])}

    def _seconds_of(self, value) -> int:
        seconds = self._seconds.get(value)
        if seconds is None:
            seconds = self._seconds[value] = timestamp_seconds(value)
        return seconds


# The filters answered by a group index (an int32 slot a node each); `id` and `family` are not:
# see NodeTable.filter_slots.
GROUPED = ("country", "city", "region", "asn")
COLUMN_OF = {"country": "country", "region": "region", "asn": "asn", "id": "ids", "family": "family"}


def filter_values(columns: NodeColumns, places: Places, name: str, slots=slice(None)) -> np.ndarray:
    """The values of filter `name` at `slots`: its column's, or for a city its place's city id (a column of
    city ids beside the places had cost 4 MiB a worker at 1,000,000 nodes, and 4 more a catch-up)."""
    if name == "city":
        return places.city_ids[columns.place[slots]]
    return getattr(columns, COLUMN_OF[name])[slots]


def ordering_key(order: str, columns: NodeColumns, places: Places, slots=slice(None)) -> np.ndarray:
    """The unique key of `order` for `slots`: the related name's rank, then the id (contract §3)."""
    ids = columns.ids[slots].astype(np.int64)
    if order == "id":
        return ids
    rank = {"city": lambda: places.city_rank[columns.place[slots]],
            "country": lambda: places.country_rank[columns.country[slots]],
            "region": lambda: places.region_rank[columns.region[slots]]}[order]()
    return (rank << 32) | ids


ORDERS = ("id", "city", "country", "region")


class CityDirectory(NamedTuple):
    """The cities that have nodes in one table, where each one's nodes are in the city index (a slice of its
    `grouped` slots each) and where the cities are: a radius search measures these (not every city of the reference
    data) and gathers their nodes by slices, with no search per city."""

    places: np.ndarray  # each city's index in Places
    starts: np.ndarray
    lengths: np.ndarray
    coordinates: Coordinates

    @classmethod
    def of(cls, cities: Groups, places: Places) -> "CityDirectory":
        starts = cities.starts[:-1]
        lengths = np.diff(cities.starts)
        index = places.city_index(cities.values)
        return cls(index, starts, lengths, Coordinates(places.coordinates.latitudes[index],
                                                places.coordinates.longitudes[index]))


class NodeTable(Table):
    def __init__(self, *, columns: NodeColumns, ips: Layered, networks: SharedPieces, tails: SharedPieces,
                 places: Places, orderings: dict, groups: dict, reference_changed_at: int, removed_at: int):
        live = orderings["id"].slots
        newest = int(columns.updated[live].max()) if len(live) else 0
        super().__init__(size=len(columns.ids), live=live, orderings=orderings, groups=groups,
                         vocabularies={"country": places.country_index}, rows=None,
                         last_modified=max(reference_changed_at, removed_at, newest))
        self.columns = columns
        self.ips = ips  # the address of each slot, one a line
        self.networks, self.tails = networks, tails
        self.places = places
        self.reference_changed_at = reference_changed_at
        self.removed_at = removed_at
        # The whole lists, in files the instance's workers share (readmodel/list_files.py), by kind.
        self._whole_lists: dict[str, ListFile] = {}
        self._digest: str | None = None  # of every address in id order: names those files
        # Worked out on first use, once per table (a data version); a race computes one twice, harmlessly.
        self._cities: CityDirectory | None = None
        self._city_stats: dict | None = None
        self._address_orders: dict[int, AddressOrder] | None = None
        self._address_lines: dict[int, Blob] | None = None
        self._sites: Sites | None = None
        self._site_stats: dict[tuple, tuple] = {}  # by families
        self._site_lines: OrderedDict[tuple, SiteLines] = OrderedDict()  # by (families, mirrored), recent last
        self._building = threading.Lock()

    @property
    def dead_slots(self) -> int:
        return self.size - len(self.live)

    def sort_keys(self, order: str, slots: np.ndarray) -> np.ndarray:
        return ordering_key(order, self.columns, self.places, slots)

    def _select_near(self, filters: dict, order: str, near) -> tuple[np.ndarray, np.ndarray]:
        """Nodes are where their city is: the cities within the radius (of those that have nodes) are measured,
        then their nodes taken. A circle holding many of them (round the whole sphere, say) picks them out of
        the requested order in one pass, which costs less than gathering and arranging them."""
        if order == "distance":
            return super()._select_near(filters, order, near)
        cities = self.city_directory()
        found, city_metres = cities.coordinates.within(near)
        if int(cities.lengths[found].sum()) * 8 <= len(self.live):
            return super()._select_near(filters, order, near, (found, city_metres))
        metres_by_place = np.full(len(self.places.city_ids), -1, dtype=np.int64)
        metres_by_place[cities.places[found]] = city_metres
        ordered = self.orderings[order].slots
        metres = metres_by_place[self.columns.place[ordered]]
        kept = metres >= 0
        if filters:
            kept &= self.matching_mask(filters, ordered)
        return ordered[kept], metres[kept]

    def nearby(self, near, nearest_first: bool = False, measured=None) -> tuple[np.ndarray, np.ndarray]:
        """The nodes of the cities within the radius, a slice of the city index each (with `measured`, the
        cities found and their distances, already worked out)."""
        cities = self.city_directory()
        found, city_metres = measured or cities.coordinates.within(near)
        if nearest_first:
            nearest = np.argsort(city_metres, kind="stable")
            found, city_metres = found[nearest], city_metres[nearest]
        slots, lengths = self._slots_of_cities(found)
        return slots, np.repeat(city_metres, lengths)

    def _slots_of_cities(self, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nodes of the directory cities `found`, a slice of the city index each, and how many each has."""
        cities = self.city_directory()
        lengths = cities.lengths[found]
        entries = runs(cities.starts[found], lengths)
        return (self.groups["city"].grouped[entries] if len(entries) else EMPTY_SLOTS), lengths

    def distance_page(self, filters: dict, near, descending: bool, offset: int, count: int):
        """(page slots, their metres, total, Last-Modified) of a list in `order=distance` whose only filter is
        `family`, else None. The cities in the circle are counted and ranked, and only the nodes of those the
        page reaches are gathered: a page of the nearest (or farthest) of 100,000 nodes cost 3.7 ms (4.5 with a
        family) when every match was gathered and ranked."""
        if set(filters) - {"family"}:
            return None
        families = tuple(filters.get("family", FAMILIES))
        cities = self.city_directory()
        found, city_metres = cities.coordinates.within(near)
        counts, newest = self._city_counts(families)
        counts = counts[found]
        total = int(counts.sum())
        modified = self._modified(total, lambda: int(newest[found].max()) if len(found) else 0)
        low, high = (max(total - offset - count, 0), total - offset) if descending else (offset, offset + count)
        high = min(high, total)
        if low >= high:
            return EMPTY_SLOTS, np.empty(0, dtype=np.int64), total, modified
        ranked = np.argsort(city_metres, kind="stable")
        found, city_metres, counts = found[ranked], city_metres[ranked], counts[ranked]
        ends = np.cumsum(counts)
        first = int(np.searchsorted(ends, low, side="right"))
        last = int(np.searchsorted(ends - counts, high, side="left"))
        # Whole runs of cities at the same distance, whose nodes are ordered together by id.
        first = int(np.searchsorted(city_metres, city_metres[first], side="left"))
        last = int(np.searchsorted(city_metres, city_metres[last - 1], side="right"))
        slots, metres = self.nearby(near, measured=(found[first:last], city_metres[first:last]))
        if "family" in filters:
            kept = self.matching_mask(filters, slots)
            slots, metres = slots[kept], metres[kept]
        slots, metres = in_distance_order(slots, metres, self.sort_keys("id", slots))
        before = int(ends[first] - counts[first])
        page = slice(low - before, high - before)
        slots, metres = slots[page], metres[page]
        return (slots[::-1], metres[::-1], total, modified) if descending else (slots, metres, total, modified)

    def distance_text(self, filters: dict, near, descending: bool):
        """(the address list, Last-Modified) of a circle in `order=distance` whose only filter is `family`, a
        bytes object a site (readmodel/city_lines.py), else None."""
        if set(filters) - {"family"}:
            return None
        families = tuple(sorted(filters.get("family", FAMILIES)))
        sites = self.sites()
        found, metres = sites.coordinates.within(near)
        counts, newest = self._site_counts(families)
        held = counts[found] > 0
        found, metres = found[held], metres[held]
        modified = self._modified(int(counts[found].sum()), lambda: int(newest[found].max()) if len(found) else 0)
        ranked = np.argsort(metres, kind="stable")
        found, metres = found[ranked], metres[ranked]
        parts = self.site_lines(families, mirrored=descending).joined(found)
        tied = tied_runs(metres)
        if tied:
            for (first, end), lines in zip(tied, self._tied_lines(found, tied, filters, descending)):
                parts[first:end] = [lines] + [b""] * (end - first - 1)
        body = b"".join(parts)
        return (reversed_bytes(body) if descending else body), modified

    def _tied_lines(self, found: np.ndarray, tied: list, filters: dict, mirrored: bool) -> list:
        """The lines of each run `tied` of `found` (sites at the very same distance, about 30 runs in a circle of
        20,000 sites when distances are whole metres): their nodes in id order together, all runs in one pass."""
        sites = self.sites()
        run_of_site = np.full(len(sites), -1, dtype=np.int64)
        for number, (first, end) in enumerate(tied):
            run_of_site[found[first:end]] = number
        cities = np.flatnonzero(run_of_site[sites.of_city] >= 0)
        slots, lengths = self._slots_of_cities(cities)
        run = np.repeat(run_of_site[sites.of_city[cities]], lengths)
        if "family" in filters:
            kept = self.matching_mask(filters, slots)
            slots, run = slots[kept], run[kept]
        in_order = np.lexsort((self.sort_keys("id", slots), run))
        lines = SiteLines.of(slots[in_order], run[in_order], len(tied), self.ips.join, mirrored)
        return lines.joined(np.arange(len(tied)))

    def sites(self) -> Sites:
        if self._sites is None:
            self._sites = Sites.of(self.city_directory().coordinates)
        return self._sites

    def _site_counts(self, families: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Per site: its nodes of `families`, and the newest `updated` among them."""
        found = self._site_stats.get(families)
        if found is None:
            counts, newest = self._city_counts(families)
            sites = self.sites()
            found = self._site_stats[families] = (sites.totals(counts), sites.newest(newest))
        return found

    def site_lines(self, families: tuple, mirrored: bool) -> SiteLines:
        """The addresses of `families` site by site, made when first asked for and kept with the table: 1.7 MiB
        at 100,000 nodes, about 17 MiB at 1,000,000 for both families, as much again mirrored. Those kept hold
        at most SITE_LINES_KEPT addresses a node (both families both ways, or every family set one way); the
        least recently used go first, to be made again if asked (what every such list had cost)."""
        key = (families, mirrored)
        with self._lock:
            found = self._site_lines.get(key)
            if found is not None:
                self._site_lines.move_to_end(key)
                return found
        with self._building, instance_version.shared.addresses_turn():
            found = self._site_lines.get(key)
            if found is None:
                cities, sites = self.city_directory(), self.sites()
                slots = self.groups["city"].grouped
                site = np.repeat(sites.of_city, cities.lengths)
                if len(families) == 1:
                    kept = self.columns.family[slots] == families[0]
                    slots, site = slots[kept], site[kept]
                in_order = np.lexsort((self.columns.ids[slots], site))  # by site, then id
                found = SiteLines.of(slots[in_order], site[in_order], len(sites), self.ips.join, mirrored)
                with self._lock:
                    self._site_lines[key] = found
                    while sum(each.lines for each in self._site_lines.values()) > SITE_LINES_KEPT * len(self.live):
                        self._site_lines.popitem(last=False)
        return found

    def _city_counts(self, families: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Per city of the directory: its nodes of `families`, and the newest `updated` among them."""
        if self._city_stats is None:
            with self._building:
                if self._city_stats is None:
                    cities = self.city_directory()
                    slots = self.groups["city"].grouped
                    family, updated = self.columns.family[slots], self.columns.updated[slots].astype(np.int64)
                    stats = dict.fromkeys(FAMILIES, (EMPTY_SLOTS, EMPTY_SLOTS))
                    for each in FAMILIES if len(cities.starts) else ():
                        mine = family == each
                        stats[each] = (np.add.reduceat(mine.astype(np.int64), cities.starts),
                                       np.maximum.reduceat(np.where(mine, updated, 0), cities.starts))
                    self._city_stats = stats
        if len(families) == 1:
            return self._city_stats[families[0]]
        (four, newest_four), (six, newest_six) = (self._city_stats[each] for each in FAMILIES)
        return four + six, np.maximum(newest_four, newest_six)

    def measure(self, slots: np.ndarray, near) -> np.ndarray:
        coordinates, place = self.places.coordinates, self.columns.place[slots]
        return metres_from(near, coordinates.latitudes[place], coordinates.longitudes[place])

    def city_directory(self) -> "CityDirectory":
        if self._cities is None:
            self._cities = CityDirectory.of(self.groups["city"], self.places)
        return self._cities

    def matching_mask(self, filters: dict, slots: np.ndarray) -> np.ndarray:
        """From the columns of `slots` themselves: a radius's few matches are checked faster than a filter's
        whole group (all the IPv4 nodes, say) is gathered."""
        mask = np.ones(len(slots), dtype=bool)
        for name, values in filters.items():
            vocabulary = self.vocabularies.get(name)
            if vocabulary is not None:
                values = [vocabulary[value] for value in values if value in vocabulary]
            column = filter_values(self.columns, self.places, name, slots)
            if len(values) <= FEW_VALUES:  # a comparison a value, where np.isin sorts (0.9 ms at 100,000)
                found = np.zeros(len(slots), dtype=bool)
                for value in values:
                    found |= column == value
                mask &= found
            else:
                mask &= np.isin(column, list(values))
        return mask

    def render(self, slots, metres=None) -> list:
        return with_distances(self._render(slots), metres)

    def _render(self, slots) -> list:
        columns, places = self.columns, self.places
        cities = places.cities.data
        city = columns.place[slots]
        # One format a node: id and address, its network, its city's id and name, the rest of its place, times.
        return [b'{"id":%d,"ip":"%s",%s"city":%s},%s%s' % (
                    node_id, ip[:-1], network, cities[start:name_end], cities[name_end + 1:place_end], tail)
                for node_id, ip, network, start, name_end, place_end, tail in zip(
                    columns.ids[slots].tolist(), self.ips.take(slots), self.networks.take(columns.network[slots]),
                    places.cities.starts[city].tolist(), places.name_end[city].tolist(),
                    places.place_end[city].tolist(), self.tails.take(columns.tail[slots]))]

    def render_record(self, slot: int) -> bytes:
        return self._render(np.array([slot]))[0]

    def text(self, slots, filters: dict, near, order: str, descending: bool):
        """The addresses of `slots` (in the order asked), one a line. The whole list of a family or both, which
        sidecars poll, comes from the instance's file of this table's addresses (readmodel/list_files.py), and
        so does the whole list in any other order, made once per instance: each was a gather of every line per
        request (7 ms at 100,000 nodes, about 150 at 1,000,000), too big for the response cache."""
        if order != "distance" and self._every_address(slots, filters, near):
            families = filters.get("family", FAMILIES)
            if order == "id" and not descending:
                return self.whole_list(ADDRESSES).body(part_name(families))
            return self.ordered_list(slots, order, descending, families)
        return self.ips.join(slots[::-1] if descending else slots)

    def ordered_list(self, slots, order: str, descending: bool, families):
        """Every address of `families` (`slots`, ascending in `order`) in `order`, from the instance's file of
        them, named by the addresses and the ids in that order."""
        kind = ordered_kind(order, descending, families)
        with self._lock:
            found = self._whole_lists.get(kind)
        if found is None:
            slots = slots[::-1] if descending else slots
            found = list_file(kind, ordered_digest(self.address_digest(), self.columns.ids[slots]),
                              lambda: [(part_name(families), self._lines_of(slots))], keep=ORDERED_KEPT)
            with self._lock:
                self._whole_lists[kind] = found
        return found.body(part_name(families))

    def address_digest(self) -> str:
        """A digest of every address in id order, the same in every worker whatever its slots."""
        with self._lock:
            digest = self._digest
        if digest is None:
            digest = addresses_digest(self._lines_of(self.live))
            with self._lock:
                self._digest = digest
        return digest

    def cidr(self, slots, filters: dict, near) -> bytes:
        """The addresses of `slots` as CIDR blocks. Each family's addresses are put in address order once per
        table; the blocks of the whole list (of one family or both), which sidecars poll, are in the instance's
        file of this table's addresses (readmodel/list_files.py: each worker had made and kept its own, 40 MiB
        at 1,000,000 nodes), and those of any other set are selected from that order: no parsing or sorting per
        request (contract §14)."""
        if self._every_address(slots, filters, near):
            return self.whole_list(CIDR).body(part_name(filters.get("family", FAMILIES)))
        orders = self.address_orders()
        chosen = np.zeros(self.size, dtype=bool)
        chosen[slots] = True
        found = []
        for family in FAMILIES:
            picked = orders[family].picked(chosen)
            # From the family's lines in address order: a slice per run of picked neighbours, few for a set
            # holding most of the family (a 19,000 km circle), where a slice per address cost 3 ms at 100,000.
            lines = self.address_lines(family)
            found += blocks_in_chunks(lambda start, end: lines.join(picked[start:end]),
                                      orders[family].follows_within(picked), len(picked), family)
        return b"".join(found)

    def _every_address(self, slots, filters: dict, near) -> bool:
        """Whether `slots` are every live node of the families filtered (all of them without a filter). A
        circle round the whole sphere holds every node of the families asked for, from any point."""
        if set(filters) - {"family"}:
            return False
        return near is None or len(slots) == len(self.filter_slots("family", filters.get("family", FAMILIES)))

    def whole_list(self, kind: str) -> ListFile:
        """This table's list file of `kind` (ADDRESSES or CIDR), made by the first worker of the instance to
        ask for it."""
        with self._lock:
            found = self._whole_lists.get(kind)
        if found is None:
            digest = self.address_digest()
            if kind == ADDRESSES:
                found = list_file(ADDRESSES, digest, self._address_parts)
            else:
                found = list_file(CIDR, digest, self._cidr_parts, whole=part_name(FAMILIES))
            with self._lock:
                self._whole_lists[kind] = found
        return found

    def _lines_of(self, slots):
        """The lines of `slots`, in their order, a chunk at a time."""
        return (self.ips.join(slots[start:start + PARSED_AT_ONCE]) for start in range(0, len(slots), PARSED_AT_ONCE))

    def _address_parts(self):
        """Every address, then each family's, in id order (called in the addresses turn)."""
        return [(part_name(FAMILIES), self._lines_of(self.live))] + [
            (part_name([family]), self._lines_of(self.filter_slots("family", [family]))) for family in FAMILIES]

    def _cidr_parts(self):
        """Each family's blocks, a chunk at a time (called in the addresses turn). The address order made
        for them is kept only if the table had it already: the workers that only send the whole list, from
        the file, need none (about 10 MiB at 1,000,000 nodes)."""
        orders = self._address_orders or self._make_address_orders()
        return [(str(family), self._blocks(orders[family], family)) for family in FAMILIES]

    def address_orders(self) -> dict[int, AddressOrder]:
        """Per family, the live slots in address order (and which addresses follow one another)."""
        found = self._address_orders
        if found is None:
            with self._building, instance_version.shared.addresses_turn():
                found = self._address_orders
                if found is None:
                    found = self._address_orders = self._make_address_orders()
        return found

    def _make_address_orders(self) -> dict[int, AddressOrder]:
        orders = {}
        for family in FAMILIES:
            slots = self.filter_slots("family", [family])
            # A chunk at a time: a str per address for the whole family had left 63 MiB of the worker's
            # heap in use after it (1,000,000 nodes).
            addresses = b"".join(packed(lines, family) for lines in self._lines_of(slots))
            order, follows = packed_order(addresses, family)
            orders[family] = AddressOrder(slots[order], follows)
        release_free_memory()  # the parsing's small objects, else held by the heap (30 MiB at 1,000,000)
        return orders

    def address_lines(self, family: int) -> Blob:
        """The family's addresses one a line in address order, made once per table when a subset's blocks are
        first asked for (2 MiB at 100,000 nodes, about 20 MiB at 1,000,000, held until the next table)."""
        orders = self.address_orders()  # before the turn below, which it takes too
        if self._address_lines is None:
            with self._building, instance_version.shared.addresses_turn():
                if self._address_lines is None:
                    lines = {}
                    for each, order in orders.items():
                        text = self.ips.join(order.order)
                        ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10) + 1
                        lines[each] = Blob(text, np.concatenate(([0], ends)).astype(np.int32))
                    self._address_lines = lines
                    release_free_memory()
        return self._address_lines[family]

    def _blocks(self, order: AddressOrder, family: int):
        return blocks_in_chunks(lambda start, end: self.ips.join(order.order[start:end]), order.follows,
                                len(order.order), family)

    def modified(self, matches) -> int:
        """When the list of `matches` last changed (seconds): its newest node, the last removal of any node
        (which no remaining row shows), or the reference data."""
        return self._modified(len(matches), lambda: int(self.columns.updated[matches].max()) if len(matches) else 0)

    def _modified(self, count: int, newest) -> int:
        """Last-Modified of `count` matches, `newest()` giving their newest `updated` (not asked when they are
        every node: then it is the table's)."""
        if count == len(self.live):
            return self.last_modified
        return max(newest(), self.removed_at, self.reference_changed_at)

    def record_modified(self, slot: int) -> int:
        return max(int(self.columns.updated[slot]), self.reference_changed_at)

    def changed(self, rows: list, gone: list, removed_at: int) -> "NodeTable":
        """A new table with `rows` (current rows of changed nodes) written and the nodes `gone` removed.

        Whatever the change leaves as it was is shared with this table, not copied: a column whose values at
        the changed slots are the same, an ordering or group none of whose entries moved. Each worker holds
        both tables while it catches up, so a copy of everything had cost 107 MiB a worker for a write of
        1,000 nodes at 1,000,000 (columns 42, orderings 16, groups 32 and the rest)."""
        if rows:
            within_limit(max(row[0] for row in rows))
        known = self._slots_of_ids([row[0] for row in rows] + list(gone)).tolist()
        networks, tails = self.networks, self.tails  # appended to: the tables before this one never see it
        fresh = sum(1 for slot in known[:len(rows)] if slot < 0)
        added = np.array(known[:len(rows)], dtype=np.int64)
        added[added < 0] = np.arange(self.size, self.size + fresh)
        gone_slots = np.array([slot for slot in known[len(rows):] if slot >= 0], dtype=np.int64)
        changes = {}  # column name -> its values at the added slots
        ips = dict.fromkeys(gone_slots.tolist(), b"")
        if rows:
            lines, changes = RowParts(self.places, networks, tails)(rows)
            changes["place"] = self.places.city_index(changes["city"])
            changes["alive"] = np.ones(len(rows), dtype=bool)
            ips.update(zip(added.tolist(), lines))
        reshaped = bool(fresh or len(gone_slots))  # slots added or gone: every column and index changes
        columns = NodeColumns(**{column.name: self._column_after(column.name, changes.get(column.name), added,
                                                                 gone_slots, fresh) for column in fields(NodeColumns)})
        removed = np.zeros(len(columns.ids), dtype=bool)
        removed[added[added < self.size]] = True
        removed[gone_slots] = True
        entries_gone = np.flatnonzero(removed)
        orderings, groups = {}, {}
        for name, ordering in self.orderings.items():
            keys = partial(ordering_key, name, columns, self.places)
            orderings[name] = ordering if not reshaped and np.array_equal(
                ordering_key(name, self.columns, self.places, added), keys(added)) \
                else ordering.changed(keys, removed, added)
        for name, index in self.groups.items():
            before = partial(filter_values, self.columns, self.places, name)
            after = partial(filter_values, columns, self.places, name)
            # An index entry goes by its old value and comes with its new one.
            groups[name] = index if not reshaped and np.array_equal(before(added), after(added)) \
                else index.changed(before, after, entries_gone, added)
        compact_above = max(2000, len(columns.ids) // 20)
        return NodeTable(
            columns=columns, ips=self.ips.written(ips, compact_above), networks=networks, tails=tails,
            places=self.places, orderings=orderings, groups=groups,
            reference_changed_at=self.reference_changed_at, removed_at=removed_at)

    def _column_after(self, name: str, values, added: np.ndarray, gone: np.ndarray, fresh: int) -> np.ndarray:
        """Column `name` with `values` at the slots `added` (the last `fresh` of them new) and `gone` dead: this
        table's own array when that changes nothing."""
        column = getattr(self.columns, name)
        dead = name == "alive" and len(gone)
        if not fresh and not dead and (values is None or np.array_equal(column[added], values)):
            return column
        column = np.concatenate((column, np.zeros(fresh, column.dtype))) if fresh else column.copy()
        if values is not None:
            column[added] = values
        if dead:
            column[gone] = False
        return column

    def filter_slots(self, name: str, values) -> np.ndarray:
        """No group index for two filters, 16 bytes a node less (16 MiB a worker at 1,000,000 nodes): an id is
        found by a binary search of the id ordering, and a family is a pass over its column (about 1 ms at
        1,000,000; the result is kept with the query's, `Table.selection`)."""
        if name == "id":
            found = self._slots_of_ids(sorted(values))
            return np.sort(found[found >= 0]).astype(np.int32)
        if name == "family":
            if set(FAMILIES) <= set(values):
                return self.live
            return self.live[np.isin(self.columns.family[self.live], list(values))]
        return super().filter_slots(name, values)

    def _slots_of_ids(self, ids) -> np.ndarray:
        """The live slot of each id, or -1."""
        found = np.full(len(ids), -1, dtype=np.int64)
        by_id = self.orderings["id"].slots
        possible = np.flatnonzero([node_id <= MAX_NODE_ID for node_id in ids])  # a filter may name any id
        if not len(by_id) or not len(possible):
            return found
        wanted = np.array([ids[index] for index in possible.tolist()], dtype=np.int64)
        ids_of = self.columns.ids
        at = np.minimum(search_keys(by_id, lambda slots: ids_of[slots].astype(np.int64), wanted), len(by_id) - 1)
        slots = by_id[at]
        found[possible] = np.where(ids_of[slots] == wanted, slots, -1)
        return found


def build_node_table(batches, places: Places, reference_changed_at: int, removed_at: int,
                     expected: int = 0) -> NodeTable:
    """A table of every row in `batches` (lists of rows with ROW_COLUMNS, in id order); `expected`: how many
    there are. The columns are allocated once at that size and filled a batch at a time: gathering them first
    (8 bytes a value) had cost 72 MiB more at the peak of a build of 1,000,000 nodes."""
    ips = BlobWriter()
    networks, tails = SharedPieces(), SharedPieces()
    parts = RowParts(places, networks, tails)
    arrays = {name: np.empty(expected, dtype=dtype) for name, dtype in DTYPES.items()}
    count = 0
    for rows in batches:
        lines, values = parts(rows)
        within_limit(int(values["ids"].max()))  # before it is cast to 32 bits
        end = count + len(rows)
        if end > len(arrays["ids"]):  # more rows than expected: grown, doubling
            arrays = {name: np.concatenate((column, np.empty(max(end, 2 * len(column)) - len(column), column.dtype)))
                      for name, column in arrays.items()}
        for name, column in values.items():
            if name == "city":  # kept as its place
                arrays["place"][count:end] = places.city_index(column)
            else:
                arrays[name][count:end] = column
        ips.extend(lines)
        count = end
    arrays = {name: column if len(column) == count else column[:count].copy() for name, column in arrays.items()}
    columns = NodeColumns(**arrays, alive=np.ones(count, dtype=bool))
    live = np.arange(count, dtype=np.int32)
    return NodeTable(
        columns=columns, ips=Layered(ips.blob()), networks=networks.seal(), tails=tails.seal(), places=places,
        orderings={name: Ordering.build(ordering_key(name, columns, places), live) for name in ORDERS},
        groups={name: Groups.build(filter_values(columns, places, name), live) for name in GROUPED},
        reference_changed_at=reference_changed_at, removed_at=removed_at)
