"""The node change log that triggers write (migrations 004, 006): which nodes changed at which data version,
with each node's state before and after, for the read model to catch up (readmodel/) and for the change feed
(resources/changes.py).

History is kept for at least KEEP_SECONDS (7 days) and at least the last KEEP_CHANGES (100,000) changes: an
entry goes only when both allow it. Writers prune, at most once every PRUNE_EVERY seconds a process (finding
the 100,000th newest change is an index walk); `data_version.change_log_floor` says up to which version
entries are gone. A reader below it rebuilds (read model) or reads the whole list again (feed: 410).
"""
from __future__ import annotations

import threading
import time

from models.database import database

KEEP_SECONDS = 7 * 86400
KEEP_CHANGES = 100_000
PRUNE_EVERY = 60.0
STATE = ("ip", "asn", "network", "city_id", "country_id", "region_id", "created_at", "updated_at")
_pruned = {"at": float("-inf")}
_prune_lock = threading.Lock()


def changed_node_ids(since: int) -> list[int]:
    """Ids of the nodes inserted, updated or deleted after data version `since`."""
    cursor = database.execute_sql("SELECT DISTINCT node_id FROM node_change WHERE version > %s"
                                  .replace("%s", database.param), (since,))
    return [node_id for (node_id,) in cursor.fetchall()]


def prune_change_log(now: float | None = None, keep: int = KEEP_SECONDS, keep_changes: int = KEEP_CHANGES,
                     every: float = PRUNE_EVERY) -> None:
    """Drop the entries both older than `keep` seconds and beyond the newest `keep_changes`, and record the
    version they reached. Run inside a write transaction (which holds the data_version row), so the floor and
    the log agree."""
    with _prune_lock:
        if time.monotonic() - _pruned["at"] < every:
            return
        _pruned["at"] = time.monotonic()
    cutoff = int(now if now is not None else time.time()) - keep
    param = database.param
    (floor,) = database.execute_sql(f"SELECT max(version) FROM node_change WHERE at < {param}", (cutoff,)).fetchone()
    if floor is None:
        return
    if keep_changes:
        row = database.execute_sql(f"SELECT version FROM node_change ORDER BY version DESC LIMIT 1 OFFSET {param}",
                                   (keep_changes,)).fetchone()
        if row is None:
            return  # fewer than keep_changes entries: all stay
        floor = min(floor, row[0])
    # Dropped by version, up to the newest that may go, so that what remains is every change after the floor.
    database.execute_sql(f"DELETE FROM node_change WHERE version <= {param}", (floor,))
    database.execute_sql(
        f"UPDATE data_version SET change_log_floor = {param} WHERE id = 1 AND change_log_floor < {param}",
        (floor, floor),
    )


def state_condition(prefix: str, filters: dict) -> tuple[str, list]:
    """SQL (and its parameters) for "the state `prefix` names exists and matches every filter"; `filters`:
    name -> normalised values, as /nodes takes them (country, city, region, asn, family)."""
    param = database.param
    colon = "'%%:%%'" if param == "%s" else "'%:%'"  # psycopg2 reads % as its own
    parts, params = [f"{prefix}ip IS NOT NULL"], []
    for name, values in filters.items():
        if name == "family":
            if set(values) == {4}:
                parts.append(f"{prefix}ip NOT LIKE {colon}")
            elif set(values) == {6}:
                parts.append(f"{prefix}ip LIKE {colon}")
            continue
        if not values:
            parts.append("1 = 0")
            continue
        column = {"country": "country_id", "city": "city_id", "region": "region_id", "asn": "asn"}[name]
        parts.append(f"{prefix}{column} IN ({', '.join([param] * len(values))})")
        params += list(values)
    return "(" + " AND ".join(parts) + ")", params


def changes_between(after: int, until: int, filters: dict, limit: int) -> list[tuple]:
    """Up to `limit` logged changes with versions in (after, until] where the node's state before or after
    matches `filters`, oldest first: (version, node_id, at, is_in_after, was_in_before, *after state,
    *before state)."""
    now_in, now_params = state_condition("", filters)
    was_in, was_params = state_condition("was_", filters)
    param = database.param
    columns = ", ".join([*STATE, *(f"was_{column}" for column in STATE)])
    sql = (f"SELECT version, node_id, at, CASE WHEN {now_in} THEN 1 ELSE 0 END, CASE WHEN {was_in} THEN 1 ELSE 0 END, "
           f"{columns} FROM node_change WHERE version > {param} AND version <= {param} AND ({now_in} OR {was_in}) "
           f"ORDER BY version LIMIT {param}")
    params = [*now_params, *was_params, after, until, *now_params, *was_params, limit]
    return database.execute_sql(sql, params).fetchall()
