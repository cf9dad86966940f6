"""Whatever is kept in memory is keyed by the data and the whole request, and never served stale for long."""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest

from app import LISTS
from models import Node
from models.node_writes import NodeRow, upsert_nodes
from readmodel.store import ReadModel
from security.tokens import TokenService
from tests.data import LONDON, PARIS, make_user
from tests.helpers import write_csv
from tests.live_server import ROOT, get, procfile_env, serve


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_snapshot_is_served_until_its_freshness_has_passed_then_checked(db, nodes, session_snapshot):
    ticks = Ticks()
    model = ReadModel(LISTS, freshness=0.5, clock=ticks, start_from=session_snapshot)
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
def test_every_kind_of_change_is_served_by_every_worker_within_a_second(config, nodes, tmp_path):
    """An import and a removal by `manage.py` (another process), a node created and one deleted through the API:
    after each, one second later, thirty answers in a row (any of three workers) show it, also to a poller
    whose 304s were being answered before the framework."""
    user = make_user("freshness", permissions=["nodes:write"])
    token = TokenService(config, lambda: datetime.now(timezone.utc)).issue(user, auth_time=int(time.time())).token
    env = procfile_env(config.database_url, workers=3, DATA_FRESHNESS="1", JWT_SECRET=config.jwt_secret)

    def manage(*args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr

    def api(base, method, path, body=None):
        request = urllib.request.Request(base + path, method=method, data=body and json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers

    def poll(base, tag: str) -> tuple[int, bytes]:
        """A sidecar's conditional GET of the list."""
        try:
            status, _, body = get(f"{base}/nodes.txt", {"If-None-Match": tag})
            return status, body
        except urllib.error.HTTPError as answer:
            return answer.code, b""

    def polled_everywhere(base) -> str:
        """The list's tag, after thirty polls with it (answered 304, then again before the framework)."""
        tag = get(f"{base}/nodes.txt")[1]["ETag"]
        assert {poll(base, tag)[0] for _ in range(30)} == {304}
        return tag

    def served_everywhere(base, present: bytes, absent: bytes = b"", polled_tag: str = "") -> None:
        time.sleep(1.0)  # the bound the service promises
        for _ in range(30):
            text = get(f"{base}/nodes.txt")[2]
            page = get(f"{base}/nodes?country=FR&perPage=1000")[2]
            assert present in text and present.strip() in page
            assert not absent or absent not in text
            assert poll(base, polled_tag) == (200, text)  # the poller sees the change too

    with serve(env) as (base, _):
        for _ in range(30):  # every worker has its snapshot and the lists rendered
            assert b"198.51.100.200\n" not in get(f"{base}/nodes.txt")[2]
        tag = polled_everywhere(base)
        manage("import-nodes", write_csv(tmp_path, f"ip,city\n198.51.100.200,{PARIS}\n198.51.100.201,{PARIS}\n"))
        served_everywhere(base, b"198.51.100.200\n", polled_tag=tag)
        tag = polled_everywhere(base)
        manage("remove-nodes", "198.51.100.200")
        served_everywhere(base, b"198.51.100.201\n", absent=b"198.51.100.200\n", polled_tag=tag)
        tag = polled_everywhere(base)
        status, headers = api(base, "POST", "/nodes", {"ip": "198.51.100.202", "city": PARIS})
        assert status == 201
        served_everywhere(base, b"198.51.100.202\n", polled_tag=tag)
        tag = polled_everywhere(base)
        assert api(base, "DELETE", headers["Location"])[0] == 204
        served_everywhere(base, b"198.51.100.201\n", absent=b"198.51.100.202\n", polled_tag=tag)
