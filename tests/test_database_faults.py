"""PostgreSQL going away under the running app: 503 with Retry-After, then recovery without a restart.

The test runs its own throwaway cluster (initdb into a temporary folder, a free port) so it can stop and
start it; it is skipped where the PostgreSQL server binaries are absent. Times are printed, not asserted:
run with -s to see them.
"""
import time

import pytest

from app import create_app, make_read_model
from config import Config
from models import Node, connect_database
from models.database import open_database
from tests.data import JWT_SECRET
from tests.contract import ContractClient
from tests.peers import cluster_missing, throwaway_cluster

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster():
    missing = cluster_missing()
    if missing:
        pytest.skip(missing)
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def app_on_cluster(cluster):
    """The app on the throwaway cluster, migrated and seeded; the models are pointed back where they were after."""
    from commands.migrate import migrate
    from commands.seed import seed
    from models import database as proxy

    previous = proxy.obj
    # data_freshness=0: every request asks the database (else cached pages are served a moment longer).
    config = Config(database_url=cluster.url, jwt_secret=JWT_SECRET, db_connect_timeout=2, db_pool_timeout=2,
                    retry_after=4, data_freshness=0.0)
    database = open_database(config)
    connect_database(config, database)
    migrate()
    seed(report=lambda *_: None)  # as the release phase does: /health is not ready without it
    read_model = make_read_model(config)
    client = ContractClient(create_app(config, db=database, read_model=read_model))
    client.read_model = read_model
    yield client
    read_model.stop()
    database.close_all()
    proxy.initialize(previous)


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_stopped_database_is_503_and_its_return_is_served(cluster, app_on_cluster):
    client = app_on_cluster
    for _ in range(3):  # pooled connections exist and are in use
        assert client.simulate_get("/nodes").status_code == 200

    cluster.stop()
    result, seconds_to_503 = timed(lambda: client.simulate_get("/nodes"))
    assert result.status_code == 503 and result.headers["retry-after"] == "4"
    assert result.headers["content-type"] == "application/problem+json"
    assert client.simulate_get("/health").status_code == 503
    assert client.simulate_get("/nodes.txt").status_code == 503
    assert client.simulate_get("/ping").status_code == 200  # liveness does not need the database

    cluster.start()
    started = time.monotonic()
    attempts = 0
    while True:  # the service comes back by itself: no restart, no reconfiguration
        attempts += 1
        status = client.simulate_get("/nodes").status_code
        if status == 200 or attempts == 50:
            break
        time.sleep(0.1)
    seconds_to_recover = time.monotonic() - started
    assert status == 200
    # No broken connection from before the stop is handed out again.
    statuses = [(path, client.simulate_get(path).status_code) for path in ["/nodes", "/health", "/nodes.txt"] * 5]
    assert all(status == 200 for _, status in statuses), statuses
    # The read model's refresher recovered too: a change made now is served from memory.
    from models.node_writes import NodeRow, upsert_nodes

    upsert_nodes([NodeRow(line=1, ip="198.51.100.9", city=2643743)])
    assert "198.51.100.9\n" in client.simulate_get("/nodes.txt").text
    # Its first build was cut off by the stop; it retries until it succeeds.
    assert client.read_model.wait_until_built(timeout=30, until_failure=False)
    snapshot = client.read_model.current()
    assert snapshot is not None and snapshot.nodes.slot_of("id", Node.get(Node.ip == "198.51.100.9").id) is not None
    print(f"\n503 after {seconds_to_503 * 1000:.0f} ms with the database down; "
          f"served again {seconds_to_recover * 1000:.0f} ms after it was back ({attempts} request(s))")


def test_a_restart_between_requests_costs_no_failed_request(cluster, app_on_cluster):
    client = app_on_cluster
    assert client.simulate_get("/health").status_code == 200
    cluster.stop()
    cluster.start()
    # The pool checks a connection before handing it out; the stale one is replaced, not served.
    assert [client.simulate_get("/health").status_code for _ in range(5)] == [200] * 5


def test_a_write_cut_off_mid_way_leaves_nothing_half_written(cluster, app_on_cluster):
    from models.node_writes import NodeRow, upsert_nodes
    import peewee

    rows = [NodeRow(line=i, ip=f"2001:db8::{i:x}", city=2643743) for i in range(1, 1201)]  # three batches
    original = Node._meta.database.obj.execute_sql
    calls = []

    def stop_after_first_batch(sql, params=None, *args, **kwargs):
        if sql.startswith(('INSERT INTO "node"', "INSERT INTO node ")):
            if calls:
                cluster.stop()  # the database goes away between the first batch and the second
            calls.append(sql)
        return original(sql, params, *args, **kwargs)

    Node._meta.database.obj.execute_sql = stop_after_first_batch
    try:
        with pytest.raises((peewee.OperationalError, peewee.InterfaceError)):
            upsert_nodes(rows)
    finally:
        Node._meta.database.obj.execute_sql = original
    cluster.start()
    Node._meta.database.obj.close_all()
    assert len(calls) == 2 and Node.select().count() == 0  # the first batch was rolled back with the rest
