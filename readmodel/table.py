"""One list's rows at one data version, in memory: rendered once, ordered once, indexed once.

A query becomes: the slots of each filter (slices of a `Groups` index) and of its radius (`Coordinates`),
intersected, then put in the requested order (an `Ordering`, or the distance); a page is a slice of that,
`total` its length. Results of filtered queries are kept with their Last-Modified (bounded) for the table's
lifetime, so walking the pages of one query sorts and dates its matches once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from models.distance import metres_from, with_distances
from readmodel.index import EMPTY_SLOTS, Coordinates, Groups, Ordering

# Filtered results kept per table (bounded, by bytes and count): enough for the orderings of the filters
# in use at once; a query's walk through its pages sorts its matches once.
RESULT_CACHE_BYTES = 2 * 1024 * 1024
RESULT_CACHE_ENTRIES = 256
# ...and grown with the table, so that the results of the filters in use fit at any size: at 1,000,000 rows
# one country's matches are ~400 KB, and re-sorting one costs ~5 ms (16 bytes a row: 16 MiB there).
RESULT_CACHE_BYTES_PER_ROW = 16


class Selection(NamedTuple):
    """A query's matches in order, their distances in metres (with a radius, else None), and when that list of
    matches last changed (seconds): kept together, so a page of a kept result costs no pass over its matches."""

    slots: np.ndarray
    metres: np.ndarray | None
    modified: int

    @property
    def nbytes(self) -> int:
        return self.slots.nbytes + (0 if self.metres is None else self.metres.nbytes)


class Table:
    def __init__(self, *, size: int, live: np.ndarray, orderings: dict, groups: dict, vocabularies: dict,
                 rows, last_modified: int, keys: dict | None = None, coordinates: Coordinates | None = None):
        self.size = size  # slots, live or not
        self.live = live  # live slots, ascending (int32)
        self.orderings: dict[str, Ordering] = orderings
        self.groups: dict[str, Groups] = groups
        # filter name -> {normalised text: group value}; integer filters have none (the value is the integer).
        self.vocabularies: dict[str, dict] = vocabularies
        self.rows = rows  # a Blob of rendered JSON objects, one per slot
        self.last_modified = last_modified
        self._keys = keys  # ordering name -> key per slot (small tables keep them; see sort_keys)
        self.coordinates = coordinates  # per slot, where the list can be searched by distance
        self._results: OrderedDict = OrderedDict()
        self._result_bytes = 0
        self._result_budget = max(RESULT_CACHE_BYTES, RESULT_CACHE_BYTES_PER_ROW * size)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.live)

    # --- answering ------------------------------------------------------------------------------

    def selection(self, filters: dict, order: str, near=None) -> Selection:
        """The slots matching every filter ({name: normalised values}) and within `near` (a Near or None),
        ascending in `order`; with `near`, also the distance of each in metres."""
        if near is not None and order != "distance" and near.holds_everything():
            # A circle round the whole sphere holds the rows the same query without it holds, from any point:
            # that result (kept, not measured); a page's distances are measured for its rows (`measure`).
            return self.selection(filters, order)
        if not filters and near is None:
            return Selection(self.orderings[order].slots, None, self.last_modified)
        key = (tuple(sorted(filters.items())), order, near)
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        if near is None:
            slots = self.orderings[order].sort(self.matching(filters), lambda some: self.sort_keys(order, some),
                                               self.size)
            metres = None
        else:
            slots, metres = self._select_near(filters, order, near)
        found = Selection(slots, metres, self.modified(slots))
        self._remember(key, found)
        return found

    def _select_near(self, filters: dict, order: str, near, measured=None) -> tuple[np.ndarray, np.ndarray]:
        slots, metres = self.nearby(near, nearest_first=order == "distance", measured=measured)
        if filters and len(slots):
            kept = self.matching_mask(filters, slots)
            slots, metres = slots[kept], metres[kept]
        if order == "distance":  # nearest first, then the key (contract §11)
            return in_distance_order(slots, metres, self.sort_keys("id", slots))
        ranked = self.orderings[order].arrange(slots, lambda some: self.sort_keys(order, some), self.size)
        return slots[ranked], metres[ranked]

    def nearby(self, near, nearest_first: bool = False, measured=None) -> tuple[np.ndarray, np.ndarray]:
        """The live slots within `near` and their distances in metres, nearest first if asked (else in no
        particular order); `measured`: those, already worked out."""
        slots, metres = measured or self.coordinates.within(near)
        if nearest_first:
            nearest = np.argsort(metres, kind="stable")
            slots, metres = slots[nearest], metres[nearest]
        return slots, metres

    def distance_page(self, filters: dict, near, descending: bool, offset: int, count: int):
        """A page in `order=distance` worked out for itself (see NodeTable), or None: from `selection`."""
        return None

    def distance_text(self, filters: dict, near, descending: bool):
        """The text list in `order=distance` worked out for itself (see NodeTable), or None: from `selection`."""
        return None

    def measure(self, slots: np.ndarray, near) -> np.ndarray:
        """The distance of each of `slots` from `near`'s point, in whole metres."""
        return metres_from(near, self.coordinates.latitudes[slots], self.coordinates.longitudes[slots])

    def sort_keys(self, order: str, slots: np.ndarray) -> np.ndarray:
        """The unique ordering key of each of `slots`."""
        return self._keys[order][slots]

    def matching(self, filters: dict) -> np.ndarray:
        """The slots matching every filter, ascending."""
        sets = sorted((self.filter_slots(name, values) for name, values in filters.items()), key=len)
        result = sets[0]
        for other in sets[1:]:
            if not len(result):
                break
            result = intersect(result, other)
        return result

    def matching_mask(self, filters: dict, slots: np.ndarray) -> np.ndarray:
        """Which of `slots` (ascending) match every filter."""
        return contains(self.matching(filters), slots)

    def filter_slots(self, name: str, values) -> np.ndarray:
        vocabulary = self.vocabularies.get(name)
        if vocabulary is not None:
            values = {vocabulary[value] for value in values if value in vocabulary}
        return self.groups[name].slots(sorted(values)) if values else EMPTY_SLOTS

    def slot_of(self, name: str, value) -> int | None:
        """The live slot whose `name` column (a unique key) is `value`, or None."""
        slots = self.filter_slots(name, (value,))
        return int(slots[0]) if len(slots) else None

    def render(self, slots, metres=None) -> list:
        """The rows of `slots`, each with its `distance` when `metres` (aligned with `slots`) are given."""
        return with_distances(self.rows.take(slots), metres)

    def render_record(self, slot: int) -> bytes:
        return self.rows[slot]

    def modified(self, matches) -> int:
        """When the list of `matches` last changed (seconds since the epoch)."""
        return self.last_modified

    def record_modified(self, slot: int) -> int:
        return self.last_modified

    def _remember(self, key, found: Selection) -> None:
        size = found.nbytes
        if size > self._result_budget // 4:
            return  # a huge result is cheap to recompute relative to what it would push out
        with self._lock:
            if key in self._results:
                return
            self._results[key] = found
            self._result_bytes += size
            while self._result_bytes > self._result_budget or len(self._results) > RESULT_CACHE_ENTRIES:
                _, dropped = self._results.popitem(last=False)
                self._result_bytes -= dropped.nbytes


def in_distance_order(slots: np.ndarray, metres: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`slots` nearest first, then by key, given them nearest first already (`metres` not decreasing): only
    the rows of a distance shared by rows out of key order (places at the same distance) are sorted, where
    sorting all of them cost 0.5 ms at 100,000 rows for a page of 50."""
    composite = (metres << 32) | keys
    out_of_order = np.flatnonzero(composite[1:] < composite[:-1])
    if not len(out_of_order):
        return slots, metres
    tied = np.flatnonzero(np.isin(metres, metres[out_of_order]))  # contiguous runs, as metres do not decrease
    slots = slots.copy()
    slots[tied] = slots[tied][np.argsort(composite[tied], kind="stable")]
    return slots, metres


def intersect(small: np.ndarray, large: np.ndarray) -> np.ndarray:
    """Slots in both ascending arrays, ascending: a binary search per slot of the smaller."""
    return small[contains(large, small)]


def contains(sorted_slots: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Which of `slots` are in `sorted_slots` (ascending), as a mask."""
    if not len(sorted_slots):
        return np.zeros(len(slots), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_slots, slots), len(sorted_slots) - 1)
    return sorted_slots[positions] == slots


def page_of(slots: np.ndarray, descending: bool, offset: int, count: int) -> np.ndarray:
    """`count` slots from `offset`, the whole array read backwards when descending."""
    if not descending:
        return slots[offset:offset + count]
    end = len(slots) - offset
    if end <= 0:
        return EMPTY_SLOTS
    return slots[max(end - count, 0):end][::-1]
