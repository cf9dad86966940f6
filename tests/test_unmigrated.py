"""The service started before its database has a schema (the release phase not run yet, or failed), as an
operator meets it with `honcho start web`: every request that needs the database is a 503 problem with
Retry-After, never a 500; each worker says so in its log once, not once a second; once `release` has run, it
serves without a restart (contract §14)."""
import contextlib
import json
import os
import time
import urllib.error
import urllib.request

import pytest

from tests.data import throwaway_postgres
from tests.live_server import procfile_env, run_release, serve

pytestmark = pytest.mark.slow


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A database of the session's kind with nothing in it."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    yield from throwaway_postgres(os.environ["TEST_DATABASE_URL"])


def answer(url: str, method: str = "GET", body: bytes | None = None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


NEEDS_THE_DATABASE = [
    ("GET", "/health", None), ("GET", "/nodes.txt", None), ("GET", "/nodes", None), ("GET", "/nodes/1", None),
    ("GET", "/nodes/changes?after=0", None),
    ("POST", "/auth", json.dumps({"username": "bob", "password": "x"}).encode()),
]


def test_before_migrate_every_request_is_a_503_and_after_release_it_serves(empty_database_url):
    env = procfile_env(empty_database_url, workers=2, JWT_SECRET="s" * 64)
    with serve(env) as (base, server):
        for _ in range(3):  # enough to reach both workers
            for method, path, body in NEEDS_THE_DATABASE:
                status, headers, payload = answer(base + path, method, body,
                                                  {"Content-Type": "application/json"} if body else {})
                assert status == 503, (method, path, status, payload)
                assert headers["Content-Type"] == "application/problem+json" and headers["Retry-After"]
                if path == "/health":
                    assert "migrate" in json.loads(payload)["detail"]
        assert answer(base + "/ping")[0] == 200
        time.sleep(3.0)  # the refreshers retry every second meanwhile

        release = run_release(env)
        assert release.returncode == 0, release.stderr
        deadline = time.monotonic() + 10
        while answer(base + "/health")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(4):
            assert answer(base + "/health")[0] == 200
            assert answer(base + "/nodes.txt")[0] == 200
    lines = [json.loads(line) for line in server.output.splitlines() if line.startswith("{")]
    assert not [line for line in lines if line["level"] == "error" and "unhandled" in line["message"]]
    refresh_failures = [line for line in lines if line["message"].startswith("read model refresh failed")]
    assert 1 <= len(refresh_failures) <= 2 * 2, refresh_failures  # once a worker, with room for a changed reason
    with contextlib.suppress(StopIteration):
        next(line for line in lines if "Traceback" in line.get("exception", ""))
        pytest.fail("a traceback was logged")
