"""What keeps a worker's read model small (issue 22): shared pieces kept once, one full build at a time in an
instance, and the old node table let go before a new one is built. The sizes themselves are measured by
`bench/run.py` (docs/performance.md, Memory)."""
import fcntl
import gc
import threading
import weakref

import numpy as np
import pytest

import readmodel.snapshot
from app import LISTS
from models import Node
from models.database import write_transaction
from models.node_changes import prune_change_log
from models.node_writes import NodeRow, upsert_nodes
from readmodel.instance_version import InstanceVersion
from readmodel.pieces import SharedPieces
from readmodel.store import ReadModel
from tests.data import BERLIN
from tests.helpers import data_version


@pytest.mark.parametrize("hash_of", [hash, len, lambda piece: 7], ids=["hash", "colliding", "all-colliding"])
def test_each_piece_is_kept_once_and_found_by_its_bytes_whatever_its_hash(hash_of):
    pieces = SharedPieces(hash_of)
    first = [b"alpha", b"beta", b"alpha", b"gamma", b"delta", b"beta"]
    positions = pieces.positions(first).tolist()
    assert [pieces.piece(position) for position in positions] == first
    pieces.seal()
    later = [b"gamma", b"epsilon", b"alpha", b"epsilon"]
    found = pieces.positions(later)
    assert pieces.take(found) == later and pieces.take(np.array(positions)) == first
    if hash_of is hash:  # a collision may cost a duplicate, never a wrong piece
        assert positions[0] == positions[2] and positions[1] == positions[5]
        assert found[0] == positions[3] and found[1] == found[3] and len(pieces) == 5


def test_workers_load_changes_in_turns_within_an_instance():
    instance = InstanceVersion()
    with instance.loading_turn(), open(instance.turns_path, "ab") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(instance.turns_path, "ab") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the load is done
    instance.remove_files()


def test_a_worker_lets_go_of_its_old_nodes_before_it_builds_new_ones(db, nodes, monkeypatch):
    model = ReadModel(LISTS, freshness=3600)
    freed_when_building = []
    build = readmodel.snapshot.build_node_table

    def watched_build(*args, **kwargs):
        gc.collect()
        freed_when_building.append(old_nodes() is None)
        return build(*args, **kwargs)

    try:
        model.refresh()
        old_nodes = weakref.ref(model.current().nodes)
        upsert_nodes([NodeRow(line=1, ip="198.51.100.250", city=BERLIN)])
        with write_transaction():
            prune_change_log(now=2**40, keep_changes=0, every=0)  # the log no longer reaches back: a full build
        monkeypatch.setattr(readmodel.snapshot, "build_node_table", watched_build)
        model.refresh()
        assert freed_when_building == [True]
        added = Node.get(Node.ip == "198.51.100.250").id
        assert model.current().nodes.slot_of("id", added) is not None
    finally:
        model.stop()


def test_a_worker_catches_up_in_its_turn(db, nodes):
    instance = InstanceVersion()
    model = ReadModel(LISTS, freshness=3600, instance=instance)
    try:
        model.refresh()
        before = model.current()
        upsert_nodes([NodeRow(line=1, ip="198.51.100.251", city=BERLIN)])
        with instance.loading_turn():  # another worker of the instance is loading
            refresher = threading.Thread(target=model.refresh)
            refresher.start()
            refresher.join(timeout=0.5)
            assert refresher.is_alive() and model.current() is before  # it waits for its turn
        refresher.join(timeout=30)
        added = Node.get(Node.ip == "198.51.100.251").id
        assert model.current(at_least=data_version()).nodes.slot_of("id", added) is not None
    finally:
        model.stop()
        instance.remove_files()
