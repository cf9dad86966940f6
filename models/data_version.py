"""The counters that every write to the served data moves forward, and the times lists are dated by.

Database triggers (migrations 001 and 004) move `version` on any insert, update or delete of regions,
countries, cities and nodes, from any process; `reference_version` only for regions, countries and cities.
The read model (readmodel/) and the response cache are keyed by them.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import BigIntegerField, IntegerField

from models.base import BaseModel


class DataVersion(BaseModel):
    id = IntegerField(primary_key=True)
    version = BigIntegerField(default=0)
    reference_version = BigIntegerField(default=0)
    reference_changed_at = BigIntegerField(default=0)  # seconds since the epoch
    # Seconds since the epoch: the last time a node left a list (which no remaining row shows), or a long
    # write committed (models/database.py, COMMIT_MARGIN).
    nodes_removed_at = BigIntegerField(default=0)
    change_log_floor = BigIntegerField(default=0)  # node_change holds every change after this version

    class Meta:
        table_name = "data_version"


@dataclass(frozen=True)
class Versions:
    """One reading of the data_version row."""

    data: int
    reference: int
    reference_changed_at: int
    nodes_removed_at: int
    change_log_floor: int


VERSIONS_SQL = ("SELECT version, reference_version, reference_changed_at, nodes_removed_at, change_log_floor "
                "FROM data_version WHERE id = 1")


def read_versions(db) -> Versions:
    """The current versions; one round trip, SQL built once (this runs on the request path)."""
    return Versions(*db.execute_sql(VERSIONS_SQL).fetchone())


class VersionAhead(LookupError):
    """A request asked for data newer than any there is (X-Min-Data-Version beyond the database's version)."""

    def __init__(self, wanted: int, newest: int):
        super().__init__(f"no data is at version {wanted} yet: the newest is {newest}")
        self.wanted, self.newest = wanted, newest

