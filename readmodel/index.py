"""The indexes of an in-memory table, over its row slots (positions in the table's row arrays).

`Ordering`: the live slots sorted by a unique int64 key (the order's columns with the primary key last), so
a page of an unfiltered list is a slice. `Groups`: the live slots grouped by a column's value, each group in
slot order, so a filter is a few slices instead of a scan. `Coordinates`: positions by latitude, for radius
searches.

Both are immutable. A change to a few rows makes new ones by removing those slots and merging them back in
with their new keys: vectorised passes over the arrays, never a re-sort (at 1,000,000 rows a sort costs
~30 ms, a merge ~2 ms).
"""
from __future__ import annotations

import numpy as np

from models.distance import within

SLOT_BITS = 31  # slots < 2**31; a group key is value << 31 | slot
SLOT_MASK = np.uint64((1 << SLOT_BITS) - 1)
EMPTY_SLOTS = np.empty(0, dtype=np.int32)


def merge_sorted(keys: np.ndarray, removed: np.ndarray, added: np.ndarray) -> np.ndarray:
    """`keys` (sorted, unique) without those whose slots are `removed`, plus `added` (any order)."""
    kept = keys if removed is None else keys[~removed]
    if not len(added):
        return kept
    added = np.sort(added)
    return np.insert(kept, np.searchsorted(kept, added), added)


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

    def changed(self, keys: np.ndarray, removed_mask: np.ndarray, added: np.ndarray) -> "Ordering":
        """A new ordering after slots in `removed_mask` went away and the slots `added` came (a changed row is
        both); `keys` is the new key of every slot."""
        kept = self.slots[~removed_mask[self.slots]]
        if len(added):
            added = added[np.argsort(keys[added])]
            positions = np.searchsorted(keys[kept], keys[added])
            kept = np.insert(kept, positions, added)
        return Ordering(kept.astype(np.int32, copy=False))

    def sort(self, slots: np.ndarray, keys, size: int) -> np.ndarray:
        """`slots` (any subset of the live ones, of `size` slots in all) in this order; `keys(slots)` gives
        their keys."""
        if len(slots) * 8 > len(self.slots):  # a large subset: pick it out of the whole order instead
            wanted = np.zeros(size, dtype=bool)
            wanted[slots] = True
            return self.slots[wanted[self.slots]]
        return slots[np.argsort(keys(slots))]


class Groups:
    """Live slots grouped by an integer value (0 <= value < 2**32), as one sorted array of value<<31|slot."""

    __slots__ = ("packed",)

    def __init__(self, packed: np.ndarray):
        self.packed = packed

    @staticmethod
    def pack(values: np.ndarray, slots: np.ndarray) -> np.ndarray:
        return (values.astype(np.uint64) << np.uint64(SLOT_BITS)) | slots.astype(np.uint64)

    @classmethod
    def build(cls, column: np.ndarray, live: np.ndarray) -> "Groups":
        return cls(np.sort(cls.pack(column[live], live)))

    def changed(self, column: np.ndarray, removed_mask: np.ndarray, added: np.ndarray) -> "Groups":
        removed = removed_mask[(self.packed & SLOT_MASK).astype(np.int64)]
        return Groups(merge_sorted(self.packed, removed, self.pack(column[added], added)))

    def slots(self, values) -> np.ndarray:
        """The slots whose value is one of `values` (distinct), ascending."""
        packed = self.packed
        lows = np.asarray(values, dtype=np.uint64) << np.uint64(SLOT_BITS)
        starts = np.searchsorted(packed, lows, side="left")
        lengths = np.searchsorted(packed, lows | SLOT_MASK, side="right") - starts
        total = int(lengths.sum())
        if total == 0:
            return EMPTY_SLOTS
        # The groups' positions in `packed`, concatenated without a Python loop over the values.
        ends = np.cumsum(lengths)
        positions = np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
        slots = (packed[positions] & SLOT_MASK).astype(np.int32)
        # Each group is in slot order; several are merged back into slot order.
        return slots if len(lengths) == 1 else np.sort(slots)


class Coordinates:
    """Latitude and longitude (degrees) per position, with the positions sorted by latitude, so that the
    rows within a radius are looked for only in the band of latitudes that can hold them."""

    __slots__ = ("latitudes", "longitudes", "by_latitude", "sorted_latitudes")

    def __init__(self, latitudes: np.ndarray, longitudes: np.ndarray):
        self.latitudes = np.asarray(latitudes, dtype=np.float64)
        self.longitudes = np.asarray(longitudes, dtype=np.float64)
        self.by_latitude = np.argsort(self.latitudes, kind="stable").astype(np.int32)
        self.sorted_latitudes = self.latitudes[self.by_latitude]

    def within(self, near) -> tuple[np.ndarray, np.ndarray]:
        """(positions within `near`'s radius, ascending; the distance of each in whole metres)."""
        low, high = near.latitude_band()
        band = self.by_latitude[np.searchsorted(self.sorted_latitudes, low, side="left"):
                                np.searchsorted(self.sorted_latitudes, high, side="right")]
        reach = near.longitude_reach()
        if reach is not None:  # and of those, only the ones in the longitudes it can reach (antimeridian too)
            offset = np.abs((self.longitudes[band] - near.longitude + 180.0) % 360.0 - 180.0)
            band = band[offset <= reach]
        candidates = np.sort(band)
        found, metres = within(near, self.latitudes[candidates], self.longitudes[candidates])
        return candidates[found], metres
