"""The node change log that triggers write (migration 004): which nodes changed after a version.

Writers prune entries older than `KEEP_SECONDS`; a reader whose version is below `change_log_floor` can no
longer catch up from the log and rebuilds instead.
"""
from __future__ import annotations

import time

from models.database import database

# Long enough for any worker that is serving at all to have caught up (they look every second).
KEEP_SECONDS = 600


def changed_node_ids(since: int) -> list[int]:
    """Ids of the nodes inserted, updated or deleted after data version `since`."""
    cursor = database.execute_sql("SELECT DISTINCT node_id FROM node_change WHERE version > %s"
                                  .replace("%s", database.param), (since,))
    return [node_id for (node_id,) in cursor.fetchall()]


def prune_change_log(now: float | None = None, keep: int = KEEP_SECONDS) -> None:
    """Drop entries older than `keep` seconds and record the version they reached. Run inside a write
    transaction (which holds the data_version row), so the floor and the log agree."""
    cutoff = int(now if now is not None else time.time()) - keep
    param = database.param
    (floor,) = database.execute_sql(f"SELECT max(version) FROM node_change WHERE at < {param}", (cutoff,)).fetchone()
    if floor is None:
        return
    # Dropped by version, up to the newest old one, so that what remains is every change after the floor.
    database.execute_sql(f"DELETE FROM node_change WHERE version <= {param}", (floor,))
    database.execute_sql(
        f"UPDATE data_version SET change_log_floor = {param} WHERE id = 1 AND change_log_floor < {param}",
        (floor, floor),
    )
