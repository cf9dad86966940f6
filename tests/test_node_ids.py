"""Node ids (contract §12): never reused, 64-bit, and taken only by nodes actually added."""
import logging

import pytest
from peewee import SqliteDatabase
from peewee_migrate import Router

from commands.migrate import MIGRATIONS
from models import Node, connect_database
from models.database import database, is_postgres
from models.node_writes import NodeRow, create_node, delete_node, sync_nodes, upsert_nodes
from readmodel.nodes import MAX_NODE_ID as READ_MODEL_MAX_NODE_ID
from tests.data import LONDON, PARIS

BIG = 2**40 + 7  # above what the read model holds, far below what the column holds


def next_id() -> int:
    """The id the next node gets (that node is created, and removed again)."""
    node_id = create_node(NodeRow(line=0, ip="203.0.113.250", city=LONDON))
    delete_node(node_id)
    return node_id


def test_the_highest_id_is_not_handed_out_again_after_its_node_is_deleted(db):
    ids = []
    for _ in range(6):
        node_id = create_node(NodeRow(line=0, ip="203.0.113.9", city=LONDON))
        delete_node(node_id)
        ids.append(node_id)
    assert ids == sorted(set(ids))


def test_a_deleted_nodes_id_is_not_found_afterwards_even_when_another_node_is_created(anonymous, db):
    first = create_node(NodeRow(line=0, ip="203.0.113.9", city=LONDON))
    delete_node(first)
    second = create_node(NodeRow(line=0, ip="203.0.113.10", city=PARIS))
    assert second > first
    assert anonymous.simulate_get(f"/nodes/{first}").status_code == 404
    assert anonymous.simulate_get(f"/nodes/{second}").json["data"]["ip"] == "203.0.113.10"


@pytest.mark.parametrize("size", [40, 2500])  # in statements, and (PostgreSQL, from 2,000 rows) through COPY
def test_syncing_an_unchanged_file_takes_no_ids(db, size):
    rows = [NodeRow(line=index + 1, ip=f"10.{index // 65536}.{index // 256 % 256}.{index % 256}", city=LONDON,
                    asn=64496) for index in range(size)]
    sync_nodes(rows)
    before = next_id()
    for _ in range(3):
        counts = sync_nodes(rows)
        assert (counts.created, counts.updated, counts.unchanged) == (0, 0, size)
    assert next_id() == before + 1


@pytest.mark.parametrize("size", [40, 2500])
def test_updating_nodes_takes_no_ids_and_adding_takes_one_each(db, size):
    rows = [NodeRow(line=index + 1, ip=f"10.1.{index // 256}.{index % 256}", city=LONDON) for index in range(size)]
    upsert_nodes(rows)
    before = next_id()
    ids = dict(Node.select(Node.ip, Node.id).tuples())
    moved = [NodeRow(line=row.line, ip=row.ip, city=PARIS, asn=64500, network="Moved") for row in rows]
    counts = upsert_nodes(moved + [NodeRow(line=size + 1, ip="10.9.9.9", city=LONDON)])
    assert (counts.created, counts.updated, counts.unchanged) == (1, size, 0)
    after = {node.ip: node for node in Node.select()}
    assert {ip: after[ip].id for ip in ids} == ids  # updated in place
    assert {(node.city_id, node.asn, node.network) for ip, node in after.items() if ip in ids} == \
        {(PARIS, 64500, "Moved")}
    assert after["10.9.9.9"].id == before + 1
    assert next_id() == before + 2


def set_next_id(value: int) -> None:
    if is_postgres():
        database.execute_sql("SELECT setval('node_id_seq', %s)", (value - 1,))
    else:
        database.execute_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = 'node'", (value - 1,))


@pytest.fixture
def big_id(db):
    """The next node id is BIG; afterwards the ids go on from where they were."""
    restore = next_id() + 1
    set_next_id(BIG)
    yield BIG
    Node.delete().execute()
    set_next_id(restore)


def test_ids_are_64_bit_and_served_even_where_the_read_model_cannot_hold_them(big_id, anonymous, nodes, caplog):
    assert big_id > READ_MODEL_MAX_NODE_ID
    with caplog.at_level(logging.WARNING, logger="readmodel.store"):
        node_id = create_node(NodeRow(line=0, ip="203.0.113.11", city=LONDON))
        assert node_id > nodes[-1].id >= nodes[0].id == BIG
        record = anonymous.simulate_get(f"/nodes/{node_id}")
        assert record.status_code == 200 and record.json["data"]["id"] == node_id
        listed = anonymous.simulate_get(f"/nodes?id={node_id},{nodes[0].id}")
        assert [node["id"] for node in listed.json["data"]] == [nodes[0].id, node_id]
        assert "203.0.113.11\n" in anonymous.simulate_get("/nodes.txt").text
        assert anonymous.simulate_get(f"/nodes/{2**63 - 1}").status_code == 404
        assert anonymous.simulate_get(f"/nodes/{2**63}").status_code == 404
        assert anonymous.simulate_get(f"/nodes?id={2**63 - 1}").json["data"] == []
    assert any("read model" in record.getMessage() for record in caplog.records)


def test_an_id_filter_beyond_what_the_read_model_indexes_matches_nothing(anonymous, nodes):
    for value in (2**33, 2**40 + nodes[0].id, 2**63 - 1):
        assert anonymous.simulate_get(f"/nodes?id={value}").json["data"] == []


@pytest.fixture
def sqlite_at_004(tmp_path, db):
    """A SQLite database migrated up to 004 (before ids were never reused); the models point back after."""
    old = SqliteDatabase(str(tmp_path / "old.sqlite3"), pragmas={"foreign_keys": 1})
    connect_database(None, old)
    router = Router(old, migrate_dir=MIGRATIONS)
    router.run("004_change_log")
    yield old, router
    old.close()
    connect_database(None, db)


def test_the_migration_keeps_ids_and_never_hands_out_one_used_before_it(sqlite_at_004):
    old, router = sqlite_at_004
    old.execute_sql("INSERT INTO region (id, name, name_key, continent) VALUES (154, 'Northern Europe', "
                    "'northern europe', 'EU')")
    old.execute_sql("INSERT INTO country (code, name, name_key, iso3, iso_numeric, continent, region_id) "
                    "VALUES ('GB', 'United Kingdom', 'united kingdom', 'GBR', '826', 'EU', 154)")
    old.execute_sql(f"INSERT INTO city (id, name, name_key, country_id, region_id, latitude, longitude, population, "
                    f"timezone) VALUES ({LONDON}, 'London', 'london', 'GB', 154, 51.5, -0.12, 8961989, "
                    "'Europe/London')")
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        old.execute_sql("INSERT INTO node (ip, city_id, country_id, region_id, created_at, updated_at) "
                        f"VALUES ('{ip}', {LONDON}, 'GB', 154, '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    old.execute_sql("DELETE FROM node WHERE id = 3")  # the highest: without the migration, 3 comes back
    router.run()
    assert [row for row in old.execute_sql("SELECT id, ip FROM node ORDER BY id")] == [(1, "192.0.2.1"),
                                                                                    (2, "192.0.2.2")]
    assert create_node(NodeRow(line=0, ip="192.0.2.4", city=LONDON)) == 4
    delete_node(4)
    assert create_node(NodeRow(line=0, ip="192.0.2.5", city=LONDON)) == 5
    # The triggers came back with the table: every change is still logged and counted.
    logged = [node_id for (node_id,) in old.execute_sql("SELECT node_id FROM node_change ORDER BY version")]
    assert logged[-3:] == [4, 4, 5]
    assert old.execute_sql("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'node'").fetchone()[0] == 9


def test_every_node_and_log_column_is_64_bit_on_postgresql(db):
    if not is_postgres():
        pytest.skip("PostgreSQL's column types")
    types = dict(database.execute_sql(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
        "WHERE (table_name, column_name) IN (('node', 'id'), ('node_change', 'node_id'))").fetchall())
    assert types == {"node.id": "bigint", "node_change.node_id": "bigint"}
    assert database.execute_sql("SELECT data_type FROM information_schema.sequences "
                                "WHERE sequence_name = 'node_id_seq'").fetchone()[0] == "bigint"

