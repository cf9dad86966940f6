"""Whatever is cached is keyed by the data and the whole request, and never served stale for long."""
import subprocess
import sys
import time

import pytest

from models.node_writes import NodeRow, upsert_nodes
from resources.cache import DataVersion
from tests.conftest import LONDON, PARIS
from tests.live_server import get, procfile_env, serve
from tests.test_commands import ROOT, write_csv


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_data_version_is_reread_once_its_freshness_has_passed(db):
    ticks = Ticks()
    version = DataVersion(freshness=0.5, clock=ticks)
    before = version.current()
    upsert_nodes([NodeRow(line=1, ip="192.0.2.1", city=LONDON)])
    ticks.now += 0.49
    assert version.current() == before  # no round trip yet
    ticks.now += 0.01
    assert version.current() > before


def test_cached_responses_are_keyed_by_the_whole_request_and_representation(client, nodes):
    gb = client.simulate_get("/nodes", query_string="country=GB&perPage=2")
    fr = client.simulate_get("/nodes", query_string="country=FR&perPage=2")
    reordered = client.simulate_get("/nodes", query_string="perPage=2&country=GB")
    text = client.simulate_get("/nodes", query_string="country=GB&perPage=2", headers={"Accept": "text/plain"})
    assert {n["country"]["code"] for n in gb.json["data"]} == {"GB"}
    assert {n["country"]["code"] for n in fr.json["data"]} == {"FR"}
    assert reordered.json["data"] == gb.json["data"]
    assert reordered.json["meta"]["pagination"]["links"]["next"].startswith("/nodes?perPage=2&country=GB")
    assert text.headers["content-type"] == "text/plain; charset=utf-8" and text.headers["etag"] != gb.headers["etag"]


def test_a_cached_authenticated_response_is_never_served_without_authorisation(client, anonymous):
    assert client.simulate_get("/countries/GB").status_code == 200  # now cached
    assert anonymous.simulate_get("/countries/GB").status_code == 401
    assert anonymous.simulate_get("/countries/GB", headers={"Authorization": "Bearer x"}).status_code == 401
    tag = client.simulate_get("/countries").headers["etag"]
    # Not even a 304 without a token.
    assert anonymous.simulate_get("/countries", headers={"If-None-Match": tag}).status_code == 401


def test_errors_are_never_cached(client, nodes):
    assert client.simulate_get("/nodes/999999").status_code == 404
    upsert_nodes([NodeRow(line=1, ip="198.51.100.1", city=PARIS)])
    assert client.simulate_get("/nodes", query_string="page=0").status_code == 400
    assert client.simulate_get("/nodes", query_string="page=0").status_code == 400


@pytest.mark.slow
def test_a_change_by_another_process_is_served_by_every_worker_within_a_second(config, nodes, tmp_path):
    env = procfile_env(config.database_url, workers=3, DATA_FRESHNESS="0.5")
    with serve(env) as (base, _):
        for _ in range(30):  # every worker has the list cached
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
