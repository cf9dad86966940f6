"""Node ids are 64-bit and never reused (contract §12).

- PostgreSQL: `node.id` (and `node_change.node_id`) become bigint, and so does the sequence; a sequence never
  hands out a value twice.
- SQLite: `INTEGER PRIMARY KEY` is already 64-bit, but without AUTOINCREMENT the id after the highest row's is
  reused once that row is deleted. The table is rebuilt with AUTOINCREMENT (SQLite cannot add it in place), its
  indexes and triggers re-created from their own stored SQL, and the counter starts above every id in use or
  in the change log (an id deleted before this migration is not handed out again either).
"""
import peewee as pw

NODE_COLUMNS = "id, ip, asn, network, city_id, country_id, region_id, created_at, updated_at"
SQLITE_NODE_TABLE = """
    CREATE TABLE node_rebuilt ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "ip" VARCHAR(45) NOT NULL,
        "asn" INTEGER, "network" VARCHAR(255), "city_id" INTEGER NOT NULL, "country_id" VARCHAR(2) NOT NULL,
        "region_id" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, "updated_at" DATETIME NOT NULL,
        FOREIGN KEY ("city_id") REFERENCES "city" ("id"), FOREIGN KEY ("country_id") REFERENCES "country" ("code"),
        FOREIGN KEY ("region_id") REFERENCES "region" ("id"))
"""


def _is_postgres(database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator, database, fake=False, **kwargs):
    if _is_postgres(database):
        migrator.sql("ALTER TABLE node ALTER COLUMN id TYPE bigint")
        migrator.sql("ALTER SEQUENCE node_id_seq AS bigint MAXVALUE 9223372036854775807")
        migrator.sql("ALTER TABLE node_change ALTER COLUMN node_id TYPE bigint")
        return
    # The node table's indexes and triggers as SQLite stored them (dropped with the table, made again after).
    attached = [sql for (sql,) in database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'node' AND type IN ('index', 'trigger') AND sql IS NOT NULL "
        "ORDER BY type, name").fetchall()]
    migrator.sql(SQLITE_NODE_TABLE)
    migrator.sql(f"INSERT INTO node_rebuilt ({NODE_COLUMNS}) SELECT {NODE_COLUMNS} FROM node")
    migrator.sql("DROP TABLE node")
    migrator.sql("ALTER TABLE node_rebuilt RENAME TO node")
    for sql in attached:
        migrator.sql(sql)
    migrator.sql("DELETE FROM sqlite_sequence WHERE name = 'node'")
    migrator.sql("INSERT INTO sqlite_sequence (name, seq) SELECT 'node', max(coalesce((SELECT max(id) FROM node), 0), "
                 "coalesce((SELECT max(node_id) FROM node_change), 0))")


def rollback(migrator, database, fake=False, **kwargs):
    # Narrowing ids back could fail on rows written since; reuse-free ids are kept.
    raise NotImplementedError("migration 005 (64-bit node ids) is not reversible")
