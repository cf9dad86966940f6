"""A log of which nodes changed at which data version, so that every worker's read model can catch up by
reading only what changed (readmodel/), and the times the `Last-Modified` of lists is made of.

- `node_change` (version, node_id, at): written by triggers for every inserted, updated or deleted node, by
  this service or anything else writing to the database. Old entries are pruned by the writers
  (models/node_changes.py); `data_version.change_log_floor` says up to which version they are gone.
- `data_version.reference_version` moves (with `version`) on every write to regions, countries or cities;
  `reference_changed_at` is when. `nodes_removed_at` is the last time a node was deleted or left a list (its
  city, ASN or address changed), which no remaining row can show.

On PostgreSQL the triggers run once per statement and bump the counter before anything is logged; the bump
takes the counter row's lock until commit, so versions become visible in the order they were given and a
reader that has seen version V has seen every change logged at V or before.
"""
import time

import peewee as pw

NODE_EVENTS = ("insert", "update", "delete")
REFERENCE_TABLES = ("region", "country", "city")
SQLITE_NOW = "CAST(strftime('%s', 'now') AS INTEGER)"


def _is_postgres(database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator, database, fake=False, **kwargs):
    for column in ("reference_version", "reference_changed_at", "nodes_removed_at", "change_log_floor"):
        migrator.sql(f"ALTER TABLE data_version ADD COLUMN {column} BIGINT NOT NULL DEFAULT 0")
    # Whatever happened before this migration happened before now, and is not in the log.
    migrator.sql(f"UPDATE data_version SET reference_changed_at = {int(time.time())}, "
                 f"nodes_removed_at = {int(time.time())}, change_log_floor = version")
    migrator.sql("CREATE TABLE node_change (version BIGINT NOT NULL, node_id INTEGER NOT NULL, at BIGINT NOT NULL)")
    migrator.sql("CREATE INDEX node_change_version ON node_change (version)")
    migrator.sql("CREATE INDEX node_change_at ON node_change (at)")
    if _is_postgres(database):
        _postgres_triggers(migrator)
    else:
        _sqlite_triggers(migrator)


def _postgres_triggers(migrator):
    migrator.sql("DROP TRIGGER node_bumps_data_version ON node")
    migrator.sql(
        "CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE data_version SET version = version + 1, reference_version = reference_version + 1, "
        "reference_changed_at = floor(extract(epoch FROM clock_timestamp()))::bigint WHERE id = 1; "
        "RETURN NULL; END $$"
    )
    migrator.sql("""
        CREATE FUNCTION log_node_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed_at bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
            new_version bigint;
        BEGIN
            UPDATE data_version SET version = version + 1 WHERE id = 1 RETURNING version INTO new_version;
            IF TG_OP = 'INSERT' THEN
                INSERT INTO node_change (version, node_id, at) SELECT new_version, id, changed_at FROM new_rows;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO node_change (version, node_id, at)
                    SELECT new_version, id, changed_at FROM new_rows
                    UNION SELECT new_version, id, changed_at FROM old_rows;
                IF EXISTS (SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
                           WHERE n.id IS NULL OR o.city_id IS DISTINCT FROM n.city_id
                              OR o.asn IS DISTINCT FROM n.asn OR o.ip <> n.ip) THEN
                    UPDATE data_version SET nodes_removed_at = changed_at WHERE id = 1;
                END IF;
            ELSE
                INSERT INTO node_change (version, node_id, at) SELECT new_version, id, changed_at FROM old_rows;
                IF EXISTS (SELECT 1 FROM old_rows) THEN
                    UPDATE data_version SET nodes_removed_at = changed_at WHERE id = 1;
                END IF;
            END IF;
            RETURN NULL;
        END $$
    """)
    # A transition table may serve one event only: one trigger per event.
    tables = {"insert": "NEW TABLE AS new_rows", "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
              "delete": "OLD TABLE AS old_rows"}
    for event in NODE_EVENTS:
        migrator.sql(f"CREATE TRIGGER node_{event}_logged AFTER {event.upper()} ON node "
                     f"REFERENCING {tables[event]} FOR EACH STATEMENT EXECUTE FUNCTION log_node_changes()")
    # TRUNCATE logs no rows: it moves the floor past the log, so every reader rebuilds.
    migrator.sql(
        "CREATE FUNCTION node_truncated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE data_version SET version = version + 1, change_log_floor = version + 1, "
        "nodes_removed_at = floor(extract(epoch FROM clock_timestamp()))::bigint WHERE id = 1; "
        "RETURN NULL; END $$"
    )
    migrator.sql("CREATE TRIGGER node_truncated AFTER TRUNCATE ON node FOR EACH STATEMENT EXECUTE FUNCTION node_truncated()")


def _sqlite_triggers(migrator):
    for event in NODE_EVENTS:
        migrator.sql(f"DROP TRIGGER node_{event}_bumps_data_version")
    log = ("INSERT INTO node_change (version, node_id, at) SELECT version, {id}, " + SQLITE_NOW
           + " FROM data_version WHERE id = 1{condition};")
    migrator.sql(
        "CREATE TRIGGER node_insert_logged AFTER INSERT ON node BEGIN "
        "UPDATE data_version SET version = version + 1 WHERE id = 1; "
        + log.format(id="NEW.id", condition="") + " END"
    )
    moved = "OLD.city_id IS NOT NEW.city_id OR OLD.asn IS NOT NEW.asn OR OLD.ip IS NOT NEW.ip OR OLD.id IS NOT NEW.id"
    migrator.sql(
        "CREATE TRIGGER node_update_logged AFTER UPDATE ON node BEGIN "
        f"UPDATE data_version SET version = version + 1, nodes_removed_at = CASE WHEN {moved} "
        f"THEN {SQLITE_NOW} ELSE nodes_removed_at END WHERE id = 1; "
        + log.format(id="NEW.id", condition="")
        + log.format(id="OLD.id", condition=" AND OLD.id IS NOT NEW.id") + " END"
    )
    migrator.sql(
        "CREATE TRIGGER node_delete_logged AFTER DELETE ON node BEGIN "
        f"UPDATE data_version SET version = version + 1, nodes_removed_at = {SQLITE_NOW} WHERE id = 1; "
        + log.format(id="OLD.id", condition="") + " END"
    )
    for table in REFERENCE_TABLES:
        for event in NODE_EVENTS:
            migrator.sql(f"DROP TRIGGER {table}_{event}_bumps_data_version")
            migrator.sql(
                f"CREATE TRIGGER {table}_{event}_bumps_data_version AFTER {event.upper()} ON {table} BEGIN "
                "UPDATE data_version SET version = version + 1, reference_version = reference_version + 1, "
                f"reference_changed_at = {SQLITE_NOW} WHERE id = 1; END"
            )


def rollback(migrator, database, fake=False, **kwargs):
    if _is_postgres(database):
        for event in NODE_EVENTS:
            migrator.sql(f"DROP TRIGGER node_{event}_logged ON node")
        migrator.sql("DROP TRIGGER node_truncated ON node")
        migrator.sql("DROP FUNCTION log_node_changes()")
        migrator.sql("DROP FUNCTION node_truncated()")
        migrator.sql(
            "CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE data_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$"
        )
        migrator.sql("CREATE TRIGGER node_bumps_data_version AFTER INSERT OR UPDATE OR DELETE ON node "
                     "FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()")
    else:
        for event in NODE_EVENTS:
            migrator.sql(f"DROP TRIGGER node_{event}_logged")
        for table in ("node", *REFERENCE_TABLES):
            for event in NODE_EVENTS:
                if table != "node":
                    migrator.sql(f"DROP TRIGGER {table}_{event}_bumps_data_version")
                migrator.sql(
                    f"CREATE TRIGGER {table}_{event}_bumps_data_version AFTER {event.upper()} ON {table} "
                    "BEGIN UPDATE data_version SET version = version + 1 WHERE id = 1; END"
                )
    migrator.sql("DROP TABLE node_change")
    for column in ("reference_version", "reference_changed_at", "nodes_removed_at", "change_log_floor"):
        migrator.sql(f"ALTER TABLE data_version DROP COLUMN {column}")
