"""The deploy path: the Procfile's `release` then `web` (real gunicorn, three workers)."""
import json

import pytest

from models import ServiceSecret
from tests.conftest import PASSWORD, make_user
from tests.live_server import get, post_json, procfile_env, run_release, serve, wait_for_workers

pytestmark = pytest.mark.slow


def test_release_then_web_with_three_workers(config, nodes):
    ServiceSecret.delete().execute()  # no JWT_SECRET: the workers must agree on one kept in the database
    make_user("alice")
    env = procfile_env(config.database_url, workers=3)
    release = run_release(env)
    assert release.returncode == 0, release.stderr

    with serve(env) as (base, server):
        status, _, body = get(f"{base}/ping")
        assert status == 200 and json.loads(body)["version"] == "1.0.0"
        assert len(wait_for_workers(server.pid, 3)) == 3

        expected = "".join(f"{node.ip}\n" for node in nodes).encode()
        for _ in range(12):  # enough requests to reach every worker
            status, headers, body = get(f"{base}/nodes.txt")
            assert (status, headers["Content-Type"], body) == (200, "text/plain; charset=utf-8", expected)
        status, headers, body = get(f"{base}/nodes?perPage=5", {"Accept": "application/json"})
        assert status == 200 and len(json.loads(body)["data"]) == 5

        # A token signed by whichever worker answered the login is good on every worker.
        token = post_json(f"{base}/auth", {"username": "alice", "password": PASSWORD})["data"]["token"]
        for _ in range(12):
            status, _, body = get(f"{base}/countries/GB", {"Authorization": f"Bearer {token}"})
            assert status == 200 and json.loads(body)["data"]["code"] == "GB"
        refreshed = post_json(f"{base}/auth/refresh", None, {"Authorization": f"Bearer {token}"})
        assert refreshed["data"]["tokenType"] == "Bearer"
    # Logs are JSON lines on stdout: the access log names the request, its id, and the user when known.
    entries = [json.loads(line) for line in server.output.splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "perfops.access"]
    assert any(e["path"] == "/nodes.txt" and e["status"] == 200 and e["request_id"] for e in access)
    assert any(e["path"] == "/countries/GB" and e["user_id"] for e in access)
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in entries)
    assert PASSWORD not in server.output and token not in server.output


def test_a_chunked_body_is_refused_with_411(config, db):
    """Falcon would read a body without Content-Length as empty; the client is told to send one."""
    import http.client

    with serve(procfile_env(config.database_url, workers=1)) as (base, _):
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
        connection.request("POST", "/auth", body=iter([b'{"username": "a", ', b'"password": "b"}']),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 411
        assert response.getheader("Content-Type") == "application/problem+json"
        connection.close()
