"""Whatever is kept in memory is keyed by the data and the whole request, and never served stale for long."""
import subprocess
import sys
import time

import pytest

from app import LISTS
from models import Node
from models.node_writes import NodeRow, upsert_nodes
from readmodel.store import ReadModel
from tests.conftest import LONDON, PARIS
from tests.live_server import get, procfile_env, serve
from tests.test_commands import ROOT, write_csv


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_snapshot_is_served_until_its_freshness_has_passed_then_checked(db, nodes):
    ticks = Ticks()
    model = ReadModel(LISTS, freshness=0.5, clock=ticks)
    try:
        model.refresh()
        before = model.current()
        upsert_nodes([NodeRow(line=1, ip="192.0.2.250", city=LONDON)])
        ticks.now += 0.5
        assert model.current() is before  # confirmed 0.5 s ago: still within the bound, no round trip
        ticks.now += 0.01
        after = model.current()  # past the bound: the request looks, and waits for the delta
        assert after.versions.data > before.versions.data
        assert after.nodes.slot_of("id", Node.get(Node.ip == "192.0.2.250").id) is not None
    finally:
        model.stop()


def test_cached_responses_are_keyed_by_the_parsed_query_and_the_representation(client, nodes):
    gb = client.simulate_get("/nodes", query_string="country=GB&perPage=2")
    fr = client.simulate_get("/nodes", query_string="country=FR&perPage=2")
    reordered = client.simulate_get("/nodes", query_string="perPage=2&country=GB")
    text = client.simulate_get("/nodes", query_string="country=GB&perPage=2", headers={"Accept": "text/plain"})
    assert {n["country"]["code"] for n in gb.json["data"]} == {"GB"}
    assert {n["country"]["code"] for n in fr.json["data"]} == {"FR"}
    # One entry for both orders: the same bytes, links in the order the list declares its parameters.
    assert reordered.content == gb.content and reordered.headers["etag"] == gb.headers["etag"]
    assert gb.json["meta"]["pagination"]["links"]["next"] == "/nodes?perPage=2&country=GB&page=2"
    assert text.headers["content-type"] == "text/plain; charset=utf-8" and text.headers["etag"] != gb.headers["etag"]


def test_a_cached_authenticated_response_is_never_served_without_authorisation(client, anonymous):
    assert client.simulate_get("/countries/GB").status_code == 200  # now cached
    assert anonymous.simulate_get("/countries/GB").status_code == 401
    assert anonymous.simulate_get("/countries/GB", headers={"Authorization": "Bearer x"}).status_code == 401
    tag = client.simulate_get("/countries").headers["etag"]
    # Not even a 304 without a token.
    assert anonymous.simulate_get("/countries", headers={"If-None-Match": tag}).status_code == 401


def test_a_missing_record_is_not_remembered(client, nodes):
    node = nodes[0]
    Node.delete().where(Node.id == node.id).execute()
    assert client.simulate_get(f"/nodes/{node.id}").status_code == 404
    Node.insert(id=node.id, ip=node.ip, city=node.city_id, country=node.country_id, region=node.region_id,
                created_at=node.created_at, updated_at=node.updated_at).execute()
    assert client.simulate_get(f"/nodes/{node.id}").status_code == 200


def test_a_removed_record_is_not_served_from_memory(client, nodes):
    node = nodes[0]
    assert client.simulate_get(f"/nodes/{node.id}").status_code == 200  # rendered and kept
    Node.delete().where(Node.id == node.id).execute()
    assert client.simulate_get(f"/nodes/{node.id}").status_code == 404


@pytest.mark.slow
def test_a_change_by_another_process_is_served_by_every_worker_within_a_second(config, nodes, tmp_path):
    env = procfile_env(config.database_url, workers=3, DATA_FRESHNESS="1")
    with serve(env) as (base, _):
        for _ in range(30):  # every worker has its snapshot and the list rendered
            assert b"198.51.100.200\n" not in get(f"{base}/nodes.txt")[2]
        csv_path = write_csv(tmp_path, f"ip,city\n198.51.100.200,{PARIS}\n")
        result = subprocess.run([sys.executable, "manage.py", "import-nodes", csv_path], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        time.sleep(1.0)  # the bound the service promises
        bodies = [get(f"{base}/nodes.txt")[2] for _ in range(30)]
        pages = [get(f"{base}/nodes?country=FR&perPage=1000")[2] for _ in range(30)]
    assert all(b"198.51.100.200\n" in body for body in bodies)
    assert all(b'"198.51.100.200"' in page for page in pages)
