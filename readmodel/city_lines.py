"""The address list of a circle in distance order, a slice a city (contract §11, §14).

Nodes are where their city is, so a list in `order=distance` is the cities in the circle nearest first, each
city's nodes in id order, and the nodes of cities at the very same distance in id order together. Cities at the
same coordinates (1,268 pairs and more in the reference data) are always at the same distance, so they are
taken as one site. With the addresses laid out site by site once per table, the list of a circle is one bytes
object per site, joined; gathering it a line at a time from the slot-ordered blob cost 15 ms at 100,000 nodes
(40 plain pages) and about 200 ms at 1,000,000.

`direction=desc` reverses the whole list: the farthest city first, each city's nodes in descending id order.
That list is the byte-reverse of the same slices taken from a mirrored layout, in which every line
`address\\n` is stored as `\\n` + the address reversed: reversing `M1 M2 ... Mn` gives `An ... A2 A1`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from readmodel.index import Coordinates


class Sites(NamedTuple):
    """The distinct coordinates of a table's directory cities."""

    of_city: np.ndarray  # the site of each directory city
    coordinates: Coordinates  # per site

    @classmethod
    def of(cls, cities: Coordinates) -> "Sites":
        pairs = np.stack((cities.latitudes, cities.longitudes), axis=1)
        unique, of_city = np.unique(pairs, axis=0, return_inverse=True)
        return cls(of_city.reshape(-1), Coordinates(unique[:, 0], unique[:, 1]))

    def totals(self, per_city: np.ndarray) -> np.ndarray:
        return np.bincount(self.of_city, weights=per_city, minlength=len(self)).astype(np.int64)

    def newest(self, per_city: np.ndarray) -> np.ndarray:
        found = np.zeros(len(self), dtype=np.int64)
        np.maximum.at(found, self.of_city, per_city)
        return found

    def __len__(self) -> int:
        return len(self.coordinates.latitudes)


class SiteLines(NamedTuple):
    """The addresses of one set of families as one bytes object per site, each site's in id order; mirrored, each
    line as "\\n" + the address reversed (for `direction=desc`). A list is then one `join` of the sites' objects,
    which numpy picks out: 1 ms for 22,000 of them, where slicing one buffer a site cost 5-8 ms (and gathering
    its bytes by numpy 5.5)."""

    sites: np.ndarray  # dtype object: bytes per site
    lines: int  # how many addresses in all

    @classmethod
    def of(cls, slots: np.ndarray, sites: np.ndarray, site_count: int, join: Callable, mirrored: bool
           ) -> "SiteLines":
        """`slots` in (site, id) order and the site of each; `join(slots)`: their lines, one after the other."""
        if mirrored:
            data = reversed_bytes(join(slots[::-1]))  # rev(Ln ... L1) = rev(L1) ... rev(Ln) = M1 ... Mn
        else:
            data = join(slots)
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
        # Where each line begins, and the end: after the "\n" that ends a plain line, at the one a mirrored
        # line begins with.
        bounds = np.append(newlines, len(data)) if mirrored else np.concatenate(([0], newlines + 1))
        starts = bounds[np.concatenate(([0], np.cumsum(np.bincount(sites, minlength=site_count))))].tolist()
        found = np.empty(site_count, dtype=object)
        found[:] = [data[start:end] for start, end in zip(starts[:-1], starts[1:])]
        return cls(found, len(slots))

    def joined(self, sites: np.ndarray) -> list:
        """The lines of each of `sites`, in that order."""
        return self.sites.take(sites).tolist()


def tied_runs(metres: np.ndarray) -> list[tuple[int, int]]:
    """The runs [first, end) of two or more sites at the very same distance in `metres` (not decreasing)."""
    same = np.flatnonzero(metres[1:] == metres[:-1])
    if not len(same):
        return []
    runs, first, last = [], int(same[0]), int(same[0]) + 1
    for position in same[1:].tolist():
        if position == last:  # continues the run
            last += 1
        else:
            runs.append((first, last + 1))
            first, last = position, position + 1
    runs.append((first, last + 1))
    return runs


def reversed_bytes(data: bytes) -> bytes:
    """`data` back to front: numpy's copy takes half the time of `data[::-1]` (0.5 ms for 1.7 MB)."""
    return np.frombuffer(data, dtype=np.uint8)[::-1].tobytes()
