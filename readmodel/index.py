"""The indexes of an in-memory table, over its row slots (positions in the table's row arrays).

`Ordering`: the live slots sorted by a unique int64 key (the order's columns with the primary key last), so
a page of an unfiltered list is a slice. `Groups`: the live slots grouped by a column's value, each group in
slot order, so a filter is a few slices instead of a scan. `Coordinates`: positions on a grid of latitude
rows, each in longitude order, for radius searches.

Both are immutable. A change to a few rows makes new ones by removing those slots and merging them back in
with their new keys: vectorised passes over the arrays, never a re-sort (at 1,000,000 rows a sort costs
~30 ms, a merge ~2 ms).
"""
from __future__ import annotations

import numpy as np

from models.distance import within

SLOT_BITS = 31  # slots < 2**31; a group entry's key is value << 31 | slot
VALUE_LIMIT = 1 << (64 - SLOT_BITS)  # group values are below this (a larger one is in no group)
EMPTY_SLOTS = np.empty(0, dtype=np.int32)


def merge_sorted(keys: np.ndarray, added: np.ndarray) -> np.ndarray:
    """`keys` (sorted, unique) with `added` (any order) merged in."""
    if not len(added):
        return keys
    added = np.sort(added)
    return np.insert(keys, np.searchsorted(keys, added), added)


def firsts(in_order: np.ndarray) -> np.ndarray:
    """Where each run of equal values of `in_order` (sorted) begins."""
    if not len(in_order):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], in_order[1:] != in_order[:-1])))


def new_values(values: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The distinct values of `found` that `values` (sorted, unique) does not hold."""
    found = np.sort(found)
    found = found[firsts(found)]  # not np.unique: it hashes them
    at = np.minimum(np.searchsorted(values, found), max(len(values) - 1, 0))
    return found[values[at] != found] if len(values) else found


def search_keys(slots: np.ndarray, keys, targets: np.ndarray) -> np.ndarray:
    """Where each of `targets` would go in `slots` (ascending by `keys(slots)`), as np.searchsorted would say
    of the slots' keys; but only the keys of the slots probed are computed: a binary search for all the
    targets at once, about 20 steps at 1,000,000 slots."""
    low = np.zeros(len(targets), dtype=np.int64)
    high = np.full(len(targets), len(slots), dtype=np.int64)
    last = max(len(slots) - 1, 0)
    while True:
        searching = low < high
        if not searching.any():
            return low
        middle = (low + high) // 2
        below = searching & (keys(slots[np.minimum(middle, last)]) < targets)
        low = np.where(below, middle + 1, low)
        high = np.where(searching & ~below, middle, high)


class Ordering:
    """The live slots in ascending order of a unique int64 key; descending is the same array read backwards.

    The keys themselves are not kept (8 bytes a row, per ordering): the table computes them for the rows at
    hand when a subset is sorted or a change merged in.
    """

    __slots__ = ("slots",)

    def __init__(self, slots: np.ndarray):
        self.slots = slots  # int32, live slots only

    @classmethod
    def build(cls, keys: np.ndarray, live: np.ndarray) -> "Ordering":
        """`keys`: the key of every slot; `live`: the live slots, ascending."""
        return cls(live[np.argsort(keys[live])].astype(np.int32))

    def changed(self, keys, removed_mask: np.ndarray, added: np.ndarray) -> "Ordering":
        """A new ordering after slots in `removed_mask` went away and the slots `added` came (a changed row is
        both); `keys(slots)` gives their new keys. Keys are computed for the added slots and the few probed
        while merging them in, not for every slot."""
        kept = self.slots[~removed_mask[self.slots]]
        if len(added):
            added_keys = keys(added)
            order = np.argsort(added_keys)
            added, added_keys = added[order], added_keys[order]
            kept = np.insert(kept, search_keys(kept, keys, added_keys), added)
        return Ordering(kept.astype(np.int32, copy=False))

    def sort(self, slots: np.ndarray, keys, size: int) -> np.ndarray:
        """`slots` (any subset of the live ones, of `size` slots in all) in this order; `keys(slots)` gives
        their keys."""
        if self._picked_from_whole(slots):
            wanted = np.zeros(size, dtype=bool)
            wanted[slots] = True
            return self.slots[wanted[self.slots]]
        return slots[np.argsort(keys(slots))]

    def arrange(self, slots: np.ndarray, keys, size: int) -> np.ndarray:
        """The permutation of `slots` (distinct live slots, any order) that puts them in this order: for
        carrying values aligned with `slots` (distances) along."""
        if self._picked_from_whole(slots):
            position = np.full(size, -1, dtype=np.int32)
            position[slots] = np.arange(len(slots), dtype=np.int32)
            ranked = position[self.slots]
            return ranked[ranked >= 0]
        return np.argsort(keys(slots))

    def _picked_from_whole(self, slots: np.ndarray) -> bool:
        """A large subset is picked out of the whole order (one pass, no keys) rather than sorted by its keys."""
        return len(slots) * 8 > len(self.slots)


class Groups:
    """Live slots grouped by an integer value (0 <= value < 2**33): the slots in order of (value, slot), 4 bytes
    a row, and a directory of the distinct values with where each one's slots begin. The packed keys
    (value << 31 | slot) had cost 8 bytes a row, 16 MiB a worker for the node table's four indexes at
    1,000,000 nodes; now a key is computed for the few entries a merge probes, as an Ordering's is."""

    __slots__ = ("grouped", "values", "starts")

    def __init__(self, grouped: np.ndarray, values: np.ndarray, starts: np.ndarray):
        self.grouped = grouped  # int32 slots in order of (value, slot)
        self.values = values  # each distinct value, ascending (int64)
        self.starts = starts  # where each value's slots begin in `grouped`, and the end

    @staticmethod
    def pack(values: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The unique key of each entry: its value, then its slot."""
        return (values.astype(np.uint64) << np.uint64(SLOT_BITS)) | slots.astype(np.uint64)

    @classmethod
    def build(cls, column: np.ndarray, live: np.ndarray) -> "Groups":
        """`column`: the value of every slot; `live`: the live slots, ascending (so a stable sort by value
        leaves each group in slot order)."""
        grouped = live[np.argsort(column[live], kind="stable")].astype(np.int32)
        in_order = column[grouped]
        starts = firsts(in_order)
        return cls(grouped, in_order[starts].astype(np.int64), np.append(starts, len(grouped)))

    def changed(self, before, after, removed: np.ndarray, added: np.ndarray) -> "Groups":
        """A new index after the entries of the slots `removed` went (each with its value `before(slots)` gives)
        and those of the slots `added` came (with their values `after(slots)`); a changed row is both. A binary
        search per entry and one copy of the slots; the directory is counted again from the values that moved, not from
        every entry (a merge of one row cost 10 ms at 1,000,000 that way, twice the packed keys' 5)."""
        grouped = self.grouped
        if len(removed):
            removed_keys = np.sort(self.pack(before(removed), removed))
            grouped = np.delete(grouped, search_keys(grouped, lambda slots: self.pack(before(slots), slots),
                                                     removed_keys))
        if len(added):
            added_keys = self.pack(after(added), added)
            order = np.argsort(added_keys)
            # The entries kept have the same value before and after.
            at = search_keys(grouped, lambda slots: self.pack(after(slots), slots), added_keys[order])
            grouped = np.insert(grouped, at, added[order].astype(np.int32))
        gone, came = before(removed).astype(np.int64), after(added).astype(np.int64)
        values = merge_sorted(self.values, new_values(self.values, came))  # not np.union1d: it hashes them all
        counts = np.zeros(len(values), dtype=np.int64)
        counts[np.searchsorted(values, self.values)] = np.diff(self.starts)
        np.subtract.at(counts, np.searchsorted(values, gone), 1)
        np.add.at(counts, np.searchsorted(values, came), 1)
        present = counts > 0
        return Groups(grouped, values[present], np.concatenate(([0], np.cumsum(counts[present]))))

    def slots(self, values) -> np.ndarray:
        """The slots whose value is one of `values` (distinct, ascending), ascending."""
        slots, lengths = self._gathered(values)
        # Each group is in slot order; several are merged back into slot order.
        return slots if len(lengths) == 1 else np.sort(slots)

    def slots_and_owners(self, values) -> tuple[np.ndarray, np.ndarray]:
        """The same slots, group after group (not sorted), and for each the position in `values` of its value."""
        slots, lengths = self._gathered(values)
        return slots, np.repeat(np.arange(len(lengths)), lengths)

    def _gathered(self, values) -> tuple[np.ndarray, np.ndarray]:
        """The slots of each value's group, group after group, and each group's length (0: no such group)."""
        if values and values[-1] >= VALUE_LIMIT:  # a filter may name any integer: no group has it
            values = [value for value in values if value < VALUE_LIMIT]
        if not len(self.values) or not values:
            return EMPTY_SLOTS, np.zeros(len(values), dtype=np.int64)
        wanted = np.asarray(values, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.values, wanted), len(self.values) - 1)
        starts = self.starts[at]
        lengths = np.where(self.values[at] == wanted, self.starts[at + 1] - starts, 0)
        return self.grouped[runs(starts, lengths)], lengths


class Coordinates:
    """Latitude and longitude (degrees) per position, laid out as a grid: rows of ROW_DEGREES of latitude, each
    row's positions in order of longitude. The positions a circle can reach are then one or two runs of each
    row it crosses, found with one binary search for all of them; only those are measured."""

    __slots__ = ("latitudes", "longitudes", "by_cell", "cell_keys")

    ROW_DEGREES = 1.0
    ROWS = 180
    # A position's cell key is its row * ROW_SPAN + (longitude + 180): rows never overlap.
    ROW_SPAN = 512.0

    def __init__(self, latitudes: np.ndarray, longitudes: np.ndarray):
        self.latitudes = np.asarray(latitudes, dtype=np.float64)
        self.longitudes = np.asarray(longitudes, dtype=np.float64)
        keys = self._rows(self.latitudes) * self.ROW_SPAN + (self.longitudes + 180.0)
        self.by_cell = np.argsort(keys, kind="stable").astype(np.int32)
        self.cell_keys = keys[self.by_cell]

    def _rows(self, latitudes):
        return np.clip(np.floor((np.asarray(latitudes) + 90.0) / self.ROW_DEGREES), 0, self.ROWS - 1)

    def candidates(self, near) -> np.ndarray:
        """Positions in the rows of the radius's latitude band and the longitudes it can reach (a superset of
        those within it), ascending."""
        low, high = near.latitude_band()
        first, last = self._rows([low, high])
        rows = np.arange(first, last + 1) * self.ROW_SPAN
        reach = near.longitude_reach()
        if (reach is None or reach >= 180.0) and first == 0 and last == self.ROWS - 1:
            return np.arange(len(self.by_cell), dtype=np.int32)  # every row, all round: every position
        east = near.longitude + 180.0  # the centre's longitude as keys count it, 0-360
        if reach is None or reach >= 180.0:
            spans = [(0.0, 360.0)]
        elif east - reach < 0.0:  # across the antimeridian: two runs a row
            spans = [(0.0, east + reach), (east - reach + 360.0, 360.0)]
        elif east + reach > 360.0:
            spans = [(east - reach, 360.0), (0.0, east + reach - 360.0)]
        else:
            spans = [(east - reach, east + reach)]
        lows = (rows[:, None] + np.array([span[0] for span in spans])).ravel()
        highs = (rows[:, None] + np.array([span[1] for span in spans])).ravel()
        starts = np.searchsorted(self.cell_keys, lows, side="left")
        lengths = np.searchsorted(self.cell_keys, highs, side="right") - starts
        return np.sort(self.by_cell[runs(starts, lengths)])

    def within(self, near) -> tuple[np.ndarray, np.ndarray]:
        """(positions within `near`'s radius, ascending; the distance of each in whole metres)."""
        candidates = self.candidates(near)
        found, metres = within(near, self.latitudes[candidates], self.longitudes[candidates])
        return candidates[found], metres


def runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions start, start+1, ... of each run, concatenated (no Python loop over the runs)."""
    total = int(lengths.sum())
    if total == 0:
        return EMPTY_SLOTS
    ends = np.cumsum(lengths)
    return np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
