"""The node change log the triggers keep (migration 004), and a reader catching up from it."""
import random
import threading

from app import LISTS
from models import City, Node
from models.data_version import read_versions
from models.database import database, write_transaction
from models.node_changes import changed_node_ids, prune_change_log
from models.node_writes import NodeRow, upsert_nodes
from readmodel.snapshot import load_snapshot
from tests.data import BERLIN, LONDON, PARIS, TOKYO


def versions():
    return read_versions(database)


def test_every_kind_of_write_logs_the_node_at_a_new_version(db):
    start = versions().data
    upsert_nodes([NodeRow(line=1, ip="192.0.2.1", city=LONDON)])
    node = Node.get(Node.ip == "192.0.2.1")
    after_insert = versions().data
    assert changed_node_ids(start) == [node.id] and after_insert > start
    Node.update(network="changed").where(Node.id == node.id).execute()
    assert changed_node_ids(after_insert) == [node.id]
    after_update = versions().data
    Node.delete().where(Node.id == node.id).execute()
    assert changed_node_ids(after_update) == [node.id] and versions().data > after_update
    assert changed_node_ids(versions().data) == []


def test_removal_time_moves_when_a_node_leaves_a_list_and_only_then(db):
    upsert_nodes([NodeRow(line=1, ip="192.0.2.1", city=LONDON)])
    with database.atomic():
        database.execute_sql("UPDATE data_version SET nodes_removed_at = 0")
    Node.update(network="renamed").execute()
    assert versions().nodes_removed_at == 0  # still in every list it was in
    upsert_nodes([NodeRow(line=1, ip="192.0.2.1", city=PARIS)])
    assert versions().nodes_removed_at > 0  # left the GB list
    with database.atomic():
        database.execute_sql("UPDATE data_version SET nodes_removed_at = 0")
    Node.delete().execute()
    assert versions().nodes_removed_at > 0


def test_reference_data_has_its_own_version(db):
    before = versions()
    upsert_nodes([NodeRow(line=1, ip="192.0.2.1", city=LONDON)])
    assert versions().reference == before.reference
    City.update(timezone=City.timezone).where(City.id == LONDON).execute()
    assert versions().reference > before.reference and versions().reference_changed_at > 0


def test_pruning_drops_old_entries_and_a_reader_behind_the_floor_reads_everything_again(db):
    upsert_nodes([NodeRow(line=1, ip="192.0.2.1", city=LONDON)])
    old = load_snapshot(LISTS, None)
    upsert_nodes([NodeRow(line=1, ip="192.0.2.2", city=BERLIN)])
    with write_transaction():
        prune_change_log(now=2**40, keep_changes=0, every=0)  # everything is old
    assert versions().change_log_floor == versions().data and changed_node_ids(0) == []
    caught_up = load_snapshot(LISTS, old)
    assert len(caught_up.nodes) == 2 and caught_up.nodes is not old.nodes


def test_a_reader_catching_up_during_concurrent_writers_misses_nothing(db):
    """Three writers and a reader catching up as fast as it can; at the end the reader's table is the one a
    fresh read gives. On PostgreSQL this rests on versions being visible in the order they were given."""
    upsert_nodes([NodeRow(line=i, ip=f"192.0.2.{i}", city=LONDON) for i in range(1, 40)])
    snapshot = load_snapshot(LISTS, None)
    stop = threading.Event()

    def write(seed):
        rng = random.Random(seed)
        for _ in range(15):
            if rng.random() < 0.3:
                Node.delete().where(Node.ip == f"192.0.2.{rng.randint(1, 60)}").execute()
            else:
                upsert_nodes([NodeRow(line=1, ip=f"192.0.2.{rng.randint(1, 60)}",
                                      city=rng.choice([LONDON, PARIS, BERLIN, TOKYO]))])
        if not database.is_closed():
            database.close()

    def read():
        nonlocal snapshot
        while not stop.is_set():
            snapshot = load_snapshot(LISTS, snapshot)
        database.close()

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(seed,)) for seed in range(3)]
    reader.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    reader.join()
    snapshot = load_snapshot(LISTS, snapshot)
    fresh = load_snapshot(LISTS, snapshot, catch_up=False)
    for order in ("id", "city"):
        assert snapshot.nodes.ips.join(snapshot.nodes.selection({}, order)[0]) == \
            fresh.nodes.ips.join(fresh.nodes.selection({}, order)[0])
    assert [row for row in snapshot.nodes.render(snapshot.nodes.selection({}, "id")[0])] == \
        [row for row in fresh.nodes.render(fresh.nodes.selection({}, "id")[0])]
