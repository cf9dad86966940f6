"""Rendered pieces many nodes share (a network, a pair of times), each kept once and found by its own bytes.

Measured at 1,000,000 nodes of 400,000 networks: kept as a list of bytes objects found through a dict of them,
the networks cost 58 MiB a worker, of which 23 MiB the pieces themselves. Here the pieces of a build are one
buffer with an offset each, found again through a sorted array of their hashes (12 bytes a piece), and
searched a batch of rows at a time, not a row at a time.
"""
from __future__ import annotations

from array import array

import numpy as np

from readmodel.blob import Blob


class SharedPieces:
    """Only ever appended to, so every table made from one build shares the one object: a table reads only the
    positions it knows, and the refresher thread alone appends. `seal()` ends the build: its pieces become one
    immutable Blob, and pieces appended after (changes merged in) go to a list."""

    def __init__(self, hash_of=hash):
        self._hash_of = hash_of  # tests force collisions with their own
        self._data: bytearray | None = bytearray()  # while building
        self._starts: array | None = array("q", [0])
        self._sealed: Blob | None = None
        self._later: list[bytes] = []  # appended after seal()
        self._hashes = np.empty(0, dtype=np.int64)  # of the pieces found by their bytes, ascending
        self._owners = np.empty(0, dtype=np.int64)  # each hash's position

    def __len__(self) -> int:
        if self._sealed is None:
            return len(self._starts) - 1
        return len(self._sealed) + len(self._later)

    def piece(self, position: int) -> bytes:
        sealed = self._sealed
        if sealed is None:
            return bytes(self._data[self._starts[position]:self._starts[position + 1]])
        return sealed[position] if position < len(sealed) else self._later[position - len(sealed)]

    def take(self, positions: np.ndarray) -> list:
        """The pieces at `positions` (each one this object has)."""
        sealed = self._sealed
        if sealed is not None and (not self._later or not len(positions) or int(positions.max()) < len(sealed)):
            return sealed.take(positions)
        return [self.piece(position) for position in positions.tolist()]

    def positions(self, pieces: list) -> np.ndarray:
        """The position of each of `pieces` (bytes), appending those not kept yet."""
        if not pieces:
            return np.empty(0, dtype=np.int64)
        hashes = np.fromiter(map(self._hash_of, pieces), dtype=np.int64, count=len(pieces))
        distinct, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        at = np.minimum(np.searchsorted(self._hashes, distinct), max(len(self._hashes) - 1, 0))
        known = self._hashes[at] == distinct if len(self._hashes) else np.zeros(len(distinct), dtype=bool)
        owners = np.where(known, self._owners[at] if len(self._owners) else 0, -1)
        fresh = np.flatnonzero(~known)
        for index in fresh.tolist():
            owners[index] = self._append(pieces[first[index]])
        # Equal hashes are equal pieces but for a 64-bit collision: such a piece is kept apart, unindexed.
        representatives = [pieces[index] for index in first.tolist()]
        for index in np.flatnonzero(known).tolist():
            if representatives[index] != self.piece(int(owners[index])):
                owners[index] = self._append(representatives[index])
        groups = inverse.ravel()
        found = owners[groups]
        for row, (piece, group) in enumerate(zip(pieces, groups.tolist())):
            if piece != representatives[group]:
                found[row] = self._append(piece)
        if len(fresh):  # merged in (they are ascending, as np.unique gives them): no re-sort
            at = np.searchsorted(self._hashes, distinct[fresh])
            self._hashes = np.insert(self._hashes, at, distinct[fresh])
            self._owners = np.insert(self._owners, at, owners[fresh])
        return found

    def seal(self) -> "SharedPieces":
        """The build is done: its pieces become one buffer (one allocation, given back whole)."""
        if self._sealed is None:
            starts = np.frombuffer(self._starts, dtype=np.int64)
            self._sealed = Blob(bytes(self._data), starts.astype(np.int32 if starts[-1] < 2**31 else np.int64))
            self._data = self._starts = None
        return self

    def _append(self, piece: bytes) -> int:
        position = len(self)
        if self._sealed is None:
            self._data += piece
            self._starts.append(len(self._data))
        else:
            self._later.append(piece)
        return position
