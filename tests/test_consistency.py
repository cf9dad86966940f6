"""Consistency clients can build on (contract §12): read your writes on every worker, data versions, polls
that never go back, X-Min-Data-Version across instances, and If-Modified-Since never hiding a change.

In-process first (two apps with read models of their own stand for two instances), then on the Procfile's
gunicorn with several workers, with curl-free clients and wget as a sidecar runs it."""
import http.client
import json
import shutil
import subprocess
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from app import LISTS, create_app
from models.node_writes import NodeRow, upsert_nodes
from readmodel.instance_version import InstanceVersion
from readmodel.store import ReadModel
from security.tokens import TokenService
from tests.data import JWT_SECRET, LONDON, PARIS, make_user
from tests.contract import ContractClient
from tests.helpers import assert_problem
from tests.live_server import procfile_env, serve

# --- in process --------------------------------------------------------------------------------------------


@pytest.fixture
def instances(config, db, clock, nodes, session_snapshot):
    """Two instances on one database, each with its own read model and instance version; neither looks at
    the database on its own within the test (freshness 60 s), so only the rules under test bring data."""
    models = []

    def instance():
        model = ReadModel(LISTS, 60.0, instance=InstanceVersion(), start_from=session_snapshot)
        model.refresh()
        models.append(model)
        app = create_app(config, db=db, clock=clock, read_model=model)
        user = make_user(f"writer{len(models)}", permissions=["nodes:write"])
        token = TokenService(config, clock).issue(user, auth_time=int(clock().timestamp())).token
        return ContractClient(app, headers={"Authorization": f"Bearer {token}"})

    yield instance(), instance()
    for model in models:
        model.stop()


def version(result) -> int:
    return int(result.headers["x-data-version"])


def test_every_read_and_write_names_its_data_version(client, nodes):
    first = client.simulate_get("/nodes")
    assert version(first) > 0
    for path in ("/nodes.txt", f"/nodes/{nodes[0].id}", "/countries", "/regions/154", "/cities?country=GB"):
        assert version(client.simulate_get(path)) == version(first), path
    missing = client.simulate_get(f"/nodes/{nodes[-1].id + 1000}")
    assert missing.status_code == 404 and version(missing) == version(first)
    assert "x-data-version" not in client.simulate_get("/ping").headers


def test_a_write_answers_the_version_it_committed_and_reads_on_its_instance_have_it(instances):
    writer, _ = instances
    before = version(writer.simulate_get("/nodes.txt"))
    created = writer.simulate_post("/nodes", json={"ip": "203.0.113.40", "city": LONDON})
    assert created.status_code == 201 and version(created) > before
    record = writer.simulate_get(created.headers["location"])
    assert record.status_code == 200 and record.headers["etag"] == created.headers["etag"]
    assert version(record) >= version(created)
    patched = writer.simulate_patch(created.headers["location"], json={"asn": 64511},
                                    headers={"If-Match": record.headers["etag"]})
    assert patched.status_code == 200 and version(patched) > version(created)
    again = writer.simulate_get(created.headers["location"])
    assert again.json["data"]["asn"] == 64511 and again.headers["etag"] == patched.headers["etag"]
    deleted = writer.simulate_delete(created.headers["location"], headers={"If-Match": again.headers["etag"]})
    assert deleted.status_code == 204 and version(deleted) > version(patched)
    assert writer.simulate_get(created.headers["location"]).status_code == 404
    assert "203.0.113.40\n" not in writer.simulate_get("/nodes.txt").text


def test_min_data_version_brings_another_instances_write(instances):
    writer, reader = instances
    reader.simulate_get("/nodes.txt")
    created = writer.simulate_post("/nodes", json={"ip": "203.0.113.41", "city": PARIS})
    # The other instance has not looked yet (freshness 60 s): without the header it may answer older data.
    assert "203.0.113.41\n" not in reader.simulate_get("/nodes.txt").text
    asked = {"X-Min-Data-Version": created.headers["x-data-version"]}
    listed = reader.simulate_get("/nodes.txt", headers=asked)
    assert "203.0.113.41\n" in listed.text and version(listed) >= version(created)
    record = reader.simulate_get(created.headers["location"], headers=asked)
    assert record.status_code == 200 and record.headers["etag"] == created.headers["etag"]
    # And from then on without it: the snapshot it caught up to is its snapshot.
    assert "203.0.113.41\n" in reader.simulate_get("/nodes.txt").text


def test_a_poll_with_a_tag_this_worker_does_not_know_is_never_answered_with_older_data(instances):
    writer, reader = instances
    old = reader.simulate_get("/nodes.txt")
    writer.simulate_post("/nodes", json={"ip": "203.0.113.42", "city": PARIS})
    new = writer.simulate_get("/nodes.txt")
    # A sidecar got the new list from one instance, then polls the other, which still holds the old one.
    polled = reader.simulate_get("/nodes.txt", headers={"If-None-Match": new.headers["etag"]})
    assert polled.status_code == 304 and version(polled) == version(new)
    # A poller holding the old list gets the new one.
    polled = reader.simulate_get("/nodes.txt", headers={"If-None-Match": old.headers["etag"]})
    assert polled.status_code == 200 and polled.text == new.text
    # A record created elsewhere, polled with its tag: there, not a 404.
    created = writer.simulate_post("/nodes", json={"ip": "203.0.113.43", "city": PARIS})
    polled = reader.simulate_get(created.headers["location"], headers={"If-None-Match": created.headers["etag"]})
    assert polled.status_code == 304


@pytest.mark.parametrize("value", ["", "abc", "-1", "1.5", "12 13", "0x10", "1" * 20, str(2**63), "１２"])
def test_a_malformed_min_data_version_is_a_400_naming_it(app, config, clock, nodes, value):
    user = make_user("writer", permissions=["nodes:write"])
    token = TokenService(config, clock).issue(user, auth_time=int(clock().timestamp())).token
    client = ContractClient(app, headers={"Authorization": f"Bearer {token}"})
    for method, path in (("GET", "/nodes"), ("GET", "/nodes.txt"), ("HEAD", f"/nodes/{nodes[0].id}"),
                         ("GET", "/countries"), ("DELETE", f"/nodes/{nodes[0].id}")):
        result = client.simulate_request(method, path, headers={"X-Min-Data-Version": value})
        if method == "HEAD":
            assert result.status_code == 400
            continue
        problem = assert_problem(result, 400)
        assert "X-Min-Data-Version" in problem["errors"], (method, path)


def test_a_min_data_version_no_data_has_reached_is_a_412(client, nodes):
    current = version(client.simulate_get("/nodes"))
    problem = assert_problem(client.simulate_get("/nodes", headers={"X-Min-Data-Version": str(current + 1000)}), 412)
    assert problem["errors"] == {"X-Min-Data-Version": [f"No data is at version {current + 1000} yet."]}
    assert client.simulate_get("/nodes", headers={"X-Min-Data-Version": str(current)}).status_code == 200
    assert client.simulate_get("/nodes", headers={"X-Min-Data-Version": " 0 "}).status_code == 200


def test_a_snapshot_behind_the_instance_version_is_not_confirmed(db, nodes, session_snapshot):
    shared = InstanceVersion()
    model = ReadModel(LISTS, 60.0, instance=shared, start_from=session_snapshot)
    model.refresh()
    try:
        held = model.confirmed()
        assert held is not None
        upsert_nodes([NodeRow(line=1, ip="203.0.113.44", city=LONDON)])
        assert model.confirmed() is held  # a write elsewhere: within freshness, as the contract allows
        shared.raise_to(held.versions.data + 1)  # a write on this instance answered
        assert model.confirmed() is None
        caught_up = model.current()
        assert caught_up.versions.data >= held.versions.data + 1 and model.confirmed() is caught_up
    finally:
        model.stop()


def test_the_instance_version_never_goes_down_but_follows_a_restored_database(db, nodes, session_snapshot):
    shared = InstanceVersion()
    shared.raise_to(7)
    shared.raise_to(5)
    assert shared.value == 7
    model = ReadModel(LISTS, 60.0, instance=shared, start_from=session_snapshot)
    model.refresh()
    try:
        held = model.current()
        shared.raise_to(held.versions.data + 1000)  # a database restored from an older backup
        assert model.current() is held and shared.value == held.versions.data
        assert model.confirmed() is held
    finally:
        model.stop()


# --- on gunicorn ---------------------------------------------------------------------------------------------

class Api:
    """One client of a live instance: a new connection per request, so the kernel spreads them over the
    workers as it spreads independent clients."""

    def __init__(self, base: str, token: str | None = None):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.token = token

    def __call__(self, method: str, path: str, body=None, headers=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=15)
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
            response = connection.getresponse()
            return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
        finally:
            connection.close()


def writer_token(config) -> str:
    user = make_user("consistency", permissions=["nodes:write"])
    return TokenService(config, lambda: datetime.now(timezone.utc)).issue(user, auth_time=int(time.time())).token


@pytest.mark.slow
def test_every_worker_reads_the_writes_its_instance_answered(config, nodes):
    """50 rounds of create, GET, PATCH, GET, PATCH with If-Match, DELETE, GET on three workers, each GET
    repeated so that every worker answers; the default freshness (1 s) would otherwise let them lag."""
    env = procfile_env(config.database_url, workers=3, JWT_SECRET=JWT_SECRET)
    with serve(env) as (base, _):
        api = Api(base, writer_token(config))
        for round_number in range(50):
            ip = f"198.51.100.{round_number + 1}"
            status, created, body = api("POST", "/nodes", {"ip": ip, "city": PARIS})
            assert status == 201, body
            location = created["location"]
            for _ in range(6):
                status, headers, body = api("GET", location)
                assert status == 200 and headers["etag"] == created["etag"], (round_number, status)
                assert int(headers["x-data-version"]) >= int(created["x-data-version"])
            status, patched, _ = api("PATCH", location, {"asn": 64500 + round_number})
            assert status == 200
            for _ in range(6):
                status, headers, body = api("GET", location)
                assert status == 200 and headers["etag"] == patched["etag"]
                assert json.loads(body)["data"]["asn"] == 64500 + round_number
            status, again, body = api("PATCH", location, {"network": f"round {round_number}"},
                                      headers={"If-Match": patched["etag"]})
            assert status == 200, body  # never a 412 on the client's own change
            for _ in range(3):
                assert ip.encode() + b"\n" in api("GET", "/nodes.txt")[2]
            status, deleted, _ = api("DELETE", location, headers={"If-Match": again["etag"]})
            assert status == 204 and int(deleted["x-data-version"]) > int(again["x-data-version"])
            for _ in range(6):
                assert api("GET", location)[0] == 404
                assert ip.encode() + b"\n" not in api("GET", "/nodes.txt")[2]


@pytest.fixture
def two_instances(config, nodes):
    """Two instances (two workers each) on the test database, with the default freshness."""
    with serve(procfile_env(config.database_url, workers=2, JWT_SECRET=JWT_SECRET)) as (first, _):
        with serve(procfile_env(config.database_url, workers=2, JWT_SECRET=JWT_SECRET)) as (second, _):
            yield first, second


@pytest.mark.slow
def test_a_poller_across_two_instances_never_goes_back(config, two_instances):
    first, second = two_instances
    writer = Api(first, writer_token(config))
    readers = [Api(first), Api(second)]
    status, headers, held = readers[0]("GET", "/nodes.txt")
    tag, seen = headers["etag"], int(headers["x-data-version"])
    added = []
    for change in range(5):
        ip = f"198.51.100.{change + 100}"
        assert writer("POST", "/nodes", {"ip": ip, "city": LONDON})[0] == 201
        added.append(ip.encode() + b"\n")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # a sidecar polling both instances, as a load balancer sends it
            for reader in readers:
                status, headers, body = reader("GET", "/nodes.txt", headers={"If-None-Match": tag})
                if status == 200:
                    assert int(headers["x-data-version"]) >= seen
                    tag, seen, held = headers["etag"], int(headers["x-data-version"]), body
                else:
                    assert status == 304
                # What the poller holds never loses a node it had.
                assert all(line in held for line in added[:-1])
            if added[-1] in held:
                break
        assert added[-1] in held


@pytest.mark.slow
def test_min_data_version_across_two_instances(config, two_instances):
    first, second = two_instances
    writer, reader = Api(first, writer_token(config)), Api(second)
    for round_number in range(20):
        ip = f"198.51.100.{round_number + 150}"
        status, created, _ = writer("POST", "/nodes", {"ip": ip, "city": LONDON})
        assert status == 201
        asked = {"X-Min-Data-Version": created["x-data-version"]}
        for _ in range(4):
            status, headers, body = reader("GET", "/nodes.txt", headers=asked)
            assert status == 200 and ip.encode() + b"\n" in body
            assert int(headers["x-data-version"]) >= int(created["x-data-version"])
            status, headers, _ = reader("GET", created["location"], headers=asked)
            assert status == 200 and headers["etag"] == created["etag"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_wget_timestamping_never_misses_a_change_made_within_the_same_second(config, nodes, tmp_path):
    env = procfile_env(config.database_url, workers=2, JWT_SECRET=JWT_SECRET)
    addresses = (f"198.51.100.{last}" for last in range(200, 255))
    with serve(env) as (base, _):
        api = Api(base, writer_token(config))
        for _ in range(4):
            while True:  # two writes within one second, wget -N between them
                status, first_write, _ = api("POST", "/nodes", {"ip": next(addresses), "city": PARIS})
                assert status == 201
                fetched = subprocess.run(["wget", "-q", "-N", f"{base}/nodes.txt"], cwd=tmp_path, timeout=30)
                assert fetched.returncode == 0
                second = next(addresses)
                status, second_write, _ = api("POST", "/nodes", {"ip": second, "city": PARIS})
                assert status == 201
                if first_write["last-modified"] == second_write["last-modified"]:
                    break
            assert subprocess.run(["wget", "-q", "-N", f"{base}/nodes.txt"], cwd=tmp_path, timeout=30).returncode == 0
            assert f"{second}\n" in (tmp_path / "nodes.txt").read_text()
