"""Great-circle distance on the mean Earth sphere (contract §11), one function for every path.

The read model and the SQL path both call `kilometres` on the coordinates as stored (float64), so they agree to
the last bit on which rows lie within a radius; `rounded_metres` is the distance a client sees (0.001 km), which
is also what `order=distance` sorts by.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
MAX_RADIUS_KM = 20038.0  # half the circumference, rounded down: every point of the sphere is within it


@dataclass(frozen=True)
class Near:
    """A point and a radius in kilometres."""

    latitude: float
    longitude: float
    radius: float

    def holds_everything(self) -> bool:
        """Whether every point of the sphere is within the radius: `kilometres` never exceeds half the
        circumference as it computes it (2R·arcsin 1)."""
        return self.radius >= 2 * EARTH_RADIUS_KM * float(np.arcsin(1.0))

    def latitude_band(self) -> tuple[float, float]:
        """Degrees of latitude that can hold a point within the radius (a margin covers float rounding)."""
        reach = math.degrees(self.radius / EARTH_RADIUS_KM) + 1e-6
        return self.latitude - reach, self.latitude + reach

    def longitude_reach(self) -> float | None:
        """The most degrees of longitude a point within the radius can differ by, or None when the circle
        holds a pole (every longitude). For a circle of angular radius r around latitude φ that holds no pole,
        it is asin(sin r / cos φ); a margin covers float rounding."""
        angle = self.radius / EARTH_RADIUS_KM
        if abs(self.latitude) + math.degrees(angle) >= 90:
            return None
        ratio = math.sin(angle) / math.cos(math.radians(self.latitude))
        return None if ratio >= 1 else math.degrees(math.asin(ratio)) + 1e-6


def kilometres(near: Near, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """Haversine distance from `near`'s point to each (latitude, longitude) in degrees."""
    phi1 = math.radians(near.latitude)
    phi2 = np.radians(latitudes)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = np.radians(longitudes - near.longitude) / 2
    a = np.sin(half_dphi) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def within(near: Near, latitudes: np.ndarray, longitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions within the radius, their distances in whole metres), positions ascending."""
    distances = kilometres(near, latitudes, longitudes)
    positions = np.flatnonzero(distances <= near.radius)
    return positions, rounded_metres(distances[positions])


def metres_from(near: Near, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """The distance of each point from `near`'s in whole metres, as `within` gives it."""
    return rounded_metres(kilometres(near, latitudes, longitudes))


def rounded_metres(distances: np.ndarray) -> np.ndarray:
    return np.rint(distances * 1000).astype(np.int64)


def distance_json(metres: int) -> bytes:
    """Kilometres with three decimals at most, as a JSON number: 1234567 -> 1234.567, 1500 -> 1.5."""
    whole, part = divmod(metres, 1000)
    return b"%d.%s" % (whole, (b"%03d" % part).rstrip(b"0") or b"0")


def with_distances(rows: list, metres) -> list:
    """Each rendered JSON object with `"distance":KM` as its last member (`metres` aligned with `rows`)."""
    if metres is None:
        return rows
    return [b'%s,"distance":%s}' % (row[:-1], distance_json(value)) for row, value in zip(rows, metres.tolist())]
