"""Many rendered rows in one buffer.

A list of small bytes objects costs ~33 bytes each over its content, and, allocated among a build's
transient objects, keeps the allocator's arenas from going back to the system for as long as it lives
(measured at 100,000 nodes: 57 MB of live rows held 121 MiB of RSS). A `Blob` is one allocation and an
offset array: freed whole, returned whole.

Rows changed since a blob was built live in a small overlay (`Layered`) until there are enough of them to
be worth building a new blob.
"""
from __future__ import annotations

from array import array

import numpy as np

GATHERED_AT_ONCE = 16_384  # rows gathered in one pass (Blob._gathered): measured fastest of 4,096 to 32,768


class BlobWriter:
    """Appends rows without keeping an object per row."""

    def __init__(self):
        self._data = bytearray()
        self._lengths = array("L")  # 4 or 8 bytes a row, no int object

    def append(self, row: bytes) -> None:
        self._data += row
        self._lengths.append(len(row))

    def extend(self, rows: list) -> None:
        self._data += b"".join(rows)
        self._lengths.extend(map(len, rows))

    def blob(self) -> "Blob":
        lengths = np.frombuffer(self._lengths, dtype=np.uint64 if self._lengths.itemsize == 8 else np.uint32)
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        # 4 bytes an offset while the buffer is under 2 GiB (the address list of 50,000,000 nodes).
        return Blob(bytes(self._data), starts.astype(np.int32) if len(self._data) < 2**31 else starts)


class Blob:
    __slots__ = ("data", "starts")

    def __init__(self, data: bytes, starts: np.ndarray):
        self.data = data
        self.starts = starts  # row i is data[starts[i]:starts[i + 1]]

    @classmethod
    def of(cls, rows) -> "Blob":
        writer = BlobWriter()
        for row in rows:
            writer.append(row)
        return writer.blob()

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index: int) -> bytes:
        return self.data[self.starts[index]:self.starts[index + 1]]

    def take(self, indexes: np.ndarray) -> list:
        data = self.data
        return [data[start:end] for start, end in zip(self.starts[indexes].tolist(),
                                                      self.starts[indexes + 1].tolist())]

    def join(self, indexes: np.ndarray) -> bytes:
        """The rows of `indexes` one after the other: a slice per run of consecutive indexes, not per row (the
        whole list in slot order is one slice); rows mostly on their own (a list in distance order) are
        gathered byte by byte by numpy instead."""
        if not len(indexes):
            return b""
        breaks = np.flatnonzero(np.diff(indexes) != 1) + 1
        if len(breaks) * 4 > len(indexes):
            return self._gathered(indexes)
        firsts = indexes[np.concatenate(([0], breaks))]
        lasts = indexes[np.concatenate((breaks - 1, [len(indexes) - 1]))]
        data = self.data
        return b"".join([data[start:end] for start, end in zip(self.starts[firsts].tolist(),
                                                               self.starts[lasts + 1].tolist())])

    def _gathered(self, indexes: np.ndarray) -> bytes:
        """The rows of `indexes`, GATHERED_AT_ONCE rows a pass: the byte positions of each row's bytes, taken
        from the buffer at once. A million addresses in a random order: 120 ms, where a slice per row cost 550
        (measured on two busy cores); the positions of a pass are 16,384 rows' bytes, about 1 MB."""
        data = np.frombuffer(self.data, dtype=np.uint8)
        parts = []
        for first in range(0, len(indexes), GATHERED_AT_ONCE):
            some = indexes[first:first + GATHERED_AT_ONCE]
            starts = self.starts[some]
            lengths = self.starts[some + 1] - starts
            ends = np.cumsum(lengths)
            # Position k of the pass's output comes from k + (the start of its row - where its row begins here).
            positions = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
            parts.append(data[positions].tobytes())
        return b"".join(parts)


class Layered:
    """A Blob and the rows written over it since (slot -> bytes); immutable, like the blob."""

    __slots__ = ("base", "overlay")

    def __init__(self, base: Blob, overlay: dict | None = None):
        self.base = base
        self.overlay = overlay or {}

    def __len__(self) -> int:
        return max(len(self.base), max(self.overlay, default=-1) + 1)

    def __getitem__(self, slot: int) -> bytes:
        found = self.overlay.get(slot)
        return self.base[slot] if found is None else found

    def take(self, slots: np.ndarray) -> list:
        if not self.overlay:
            return self.base.take(slots)
        overlay, base = self.overlay, self.base
        return [overlay[slot] if slot in overlay else base[slot] for slot in slots.tolist()]

    def join(self, slots: np.ndarray) -> bytes:
        if not self.overlay:
            return self.base.join(slots)
        written = np.fromiter(self.overlay, dtype=np.int64, count=len(self.overlay))
        over = np.isin(slots, written)
        if not over.any():
            return self.base.join(slots)
        # Runs of base rows between the written ones, joined a run at a time.
        parts, start = [], 0
        overlay = self.overlay
        for position in np.flatnonzero(over).tolist():
            parts.append(self.base.join(slots[start:position]))
            parts.append(overlay[int(slots[position])])
            start = position + 1
        parts.append(self.base.join(slots[start:]))
        return b"".join(parts)

    def written(self, rows: dict, compact_above: int) -> "Layered":
        """A new Layered with `rows` (slot -> bytes; b"" for a slot that is gone) written over this one; its
        rows are gathered into a new blob once the overlay holds more than `compact_above` of them."""
        overlay = {**self.overlay, **rows}
        if len(overlay) <= compact_above:
            return Layered(self.base, overlay)
        merged = Layered(self.base, overlay)
        return Layered(Blob.of(merged[slot] for slot in range(len(merged))))


class Vocabulary:
    """Text values and their codes, for exact matching: the values sorted (as UTF-8) in one Blob.

    A dict of 34,000 city names costs ~4 MB and pins the allocator's arenas; this is one buffer, and a
    lookup is a binary search of ~16 comparisons.
    """

    __slots__ = ("values", "codes")

    def __init__(self, values: Blob, codes: np.ndarray):
        self.values = values
        self.codes = codes

    @classmethod
    def of(cls, values) -> tuple["Vocabulary", list]:
        """A vocabulary of `values` (each value's code is its rank) and the code of each value given."""
        distinct = sorted({value.encode() for value in values})
        code_of = {value: code for code, value in enumerate(distinct)}
        return cls(Blob.of(distinct), np.arange(len(distinct), dtype=np.int32)), \
            [code_of[value.encode()] for value in values]

    def get(self, value: str, default=None):
        wanted = value.encode()
        low, high = 0, len(self.values)
        while low < high:
            middle = (low + high) // 2
            found = self.values[middle]
            if found < wanted:
                low = middle + 1
            elif found > wanted:
                high = middle
            else:
                return int(self.codes[middle])
        return default

    def __contains__(self, value: str) -> bool:
        return self.get(value) is not None

    def __getitem__(self, value: str) -> int:
        code = self.get(value)
        if code is None:
            raise KeyError(value)
        return code
