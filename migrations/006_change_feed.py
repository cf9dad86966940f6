"""The change log keeps each node's state before and after each change, for the change feed (contract §13).

`node_change` gains the node's columns after the change (`ip` NULL: it is gone) and before it (`was_*`; `was_ip`
NULL: it did not exist), so that `GET /nodes/changes` can say what changed and filter on both states without
the node table. Every logged row has its own data version (PostgreSQL's statement triggers now move the counter
by the number of rows, in id order), so a page of the feed can end anywhere and the next one start after it.

The rows logged before this migration have no states: they are dropped and the log's floor moves up to the
current version (a worker behind it rebuilds its read model; a feed from before it is a 410).
"""
import peewee as pw

STATE = ("ip", "asn", "network", "city_id", "country_id", "region_id", "created_at", "updated_at")
TYPES = {"ip": "VARCHAR(45)", "asn": "BIGINT", "network": "VARCHAR(255)", "city_id": "INTEGER",
         "country_id": "VARCHAR(2)", "region_id": "INTEGER", "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP"}
SQLITE_NOW = "CAST(strftime('%s', 'now') AS INTEGER)"
LOGGED = ", ".join(["version", "node_id", "at", *STATE, *(f"was_{column}" for column in STATE)])
NULLS = ", ".join(["NULL"] * len(STATE))


def _is_postgres(database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def _states(after: str | None, before: str | None) -> str:
    """The select list of both states: `after`/`before` name a row (NEW, OLD, n, o) or None (no such state)."""
    return ", ".join([*(f"{after}.{column}" if after else "NULL" for column in STATE),
                      *(f"{before}.{column}" if before else "NULL" for column in STATE)])


def migrate(migrator, database, fake=False, **kwargs):
    for prefix in ("", "was_"):
        for column in STATE:
            migrator.sql(f"ALTER TABLE node_change ADD COLUMN {prefix}{column} {TYPES[column]}")
    migrator.sql("DELETE FROM node_change")
    migrator.sql("UPDATE data_version SET change_log_floor = version")
    if _is_postgres(database):
        _postgres_triggers(migrator)
    else:
        _sqlite_triggers(migrator)


def _sqlite_triggers(migrator):
    for event in ("insert", "update", "delete"):
        migrator.sql(f"DROP TRIGGER node_{event}_logged")
    log = f"INSERT INTO node_change ({LOGGED}) SELECT version, {{id}}, {SQLITE_NOW}, {{states}} FROM data_version " \
          "WHERE id = 1{condition};"
    migrator.sql(
        "CREATE TRIGGER node_insert_logged AFTER INSERT ON node BEGIN "
        "UPDATE data_version SET version = version + 1 WHERE id = 1; "
        + log.format(id="NEW.id", states=_states("NEW", None), condition="") + " END")
    moved = "OLD.city_id IS NOT NEW.city_id OR OLD.asn IS NOT NEW.asn OR OLD.ip IS NOT NEW.ip OR OLD.id IS NOT NEW.id"
    migrator.sql(
        "CREATE TRIGGER node_update_logged AFTER UPDATE ON node BEGIN "
        f"UPDATE data_version SET version = version + 1, nodes_removed_at = CASE WHEN {moved} "
        f"THEN {SQLITE_NOW} ELSE nodes_removed_at END WHERE id = 1; "
        + log.format(id="NEW.id", states=_states("NEW", "OLD"), condition=" AND OLD.id IS NEW.id")
        # An id that changed (never through the API): the old id is gone, the new one is new.
        + log.format(id="NEW.id", states=_states("NEW", None), condition=" AND OLD.id IS NOT NEW.id")
        + log.format(id="OLD.id", states=_states(None, "OLD"), condition=" AND OLD.id IS NOT NEW.id") + " END")
    migrator.sql(
        "CREATE TRIGGER node_delete_logged AFTER DELETE ON node BEGIN "
        f"UPDATE data_version SET version = version + 1, nodes_removed_at = {SQLITE_NOW} WHERE id = 1; "
        + log.format(id="OLD.id", states=_states(None, "OLD"), condition="") + " END")


def _postgres_triggers(migrator):
    migrator.sql(f"""
        CREATE OR REPLACE FUNCTION log_node_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed_at bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
            rows_changed bigint;
            base bigint;
        BEGIN
            IF TG_OP = 'INSERT' THEN
                SELECT count(*) INTO rows_changed FROM new_rows;
            ELSIF TG_OP = 'UPDATE' THEN
                SELECT count(*) INTO rows_changed FROM old_rows o FULL JOIN new_rows n ON n.id = o.id;
            ELSE
                SELECT count(*) INTO rows_changed FROM old_rows;
            END IF;
            IF rows_changed = 0 THEN
                RETURN NULL;
            END IF;
            -- One version a row, in id order: a feed page may end between any two changes.
            UPDATE data_version SET version = version + rows_changed WHERE id = 1
                RETURNING version - rows_changed INTO base;
            IF TG_OP = 'INSERT' THEN
                INSERT INTO node_change ({LOGGED})
                    SELECT base + row_number() OVER (ORDER BY n.id), n.id, changed_at, {_states("n", None)}
                    FROM new_rows n;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO node_change ({LOGGED})
                    SELECT base + row_number() OVER (ORDER BY coalesce(n.id, o.id)), coalesce(n.id, o.id),
                           changed_at, {_states("n", "o")}
                    FROM old_rows o FULL JOIN new_rows n ON n.id = o.id;
                IF EXISTS (SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
                           WHERE n.id IS NULL OR o.city_id IS DISTINCT FROM n.city_id
                              OR o.asn IS DISTINCT FROM n.asn OR o.ip <> n.ip) THEN
                    UPDATE data_version SET nodes_removed_at = changed_at WHERE id = 1;
                END IF;
            ELSE
                INSERT INTO node_change ({LOGGED})
                    SELECT base + row_number() OVER (ORDER BY o.id), o.id, changed_at, {_states(None, "o")}
                    FROM old_rows o;
                UPDATE data_version SET nodes_removed_at = changed_at WHERE id = 1;
            END IF;
            RETURN NULL;
        END $$
    """)


def rollback(migrator, database, fake=False, **kwargs):
    raise NotImplementedError("migration 006 (the change feed's states) is not reversible")
