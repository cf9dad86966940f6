"""The deploy path: the Procfile's `release` then `web` (real gunicorn, three workers)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from models import ServiceSecret
from tests.conftest import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def procfile_command(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise AssertionError(f"no {process} process in the Procfile")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def wait_for_workers(pid: int, count: int) -> list[int]:
    """The gunicorn master's children, once `count` have booted (the shell may or may not exec it)."""
    deadline = time.monotonic() + 30
    while True:
        children = child_pids(pid)
        if len(children) == 1 and child_pids(children[0]):
            children = child_pids(children[0])  # `pid` is the shell, its child the master
        if len(children) >= count or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


def get(url: str, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
        return response.status, response.headers, response.read()


def post_json(url: str, body, headers=None) -> dict:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def procfile_env(config):
    # The Procfile's commands as the platform runs them: from the project root, tools on PATH.
    env = {**os.environ, "DATABASE_URL": config.database_url, "WEB_CONCURRENCY": "3", "PORT": str(free_port()),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("JWT_SECRET", None)  # the workers must agree on the secret kept in the database
    return env


def test_release_then_web_with_three_workers(procfile_env, nodes):
    ServiceSecret.delete().execute()
    make_user("alice")
    release = subprocess.run(procfile_command("release"), shell=True, cwd=ROOT, env=procfile_env,
                             capture_output=True, text=True, timeout=60)
    assert release.returncode == 0, release.stderr

    base = f"http://127.0.0.1:{procfile_env['PORT']}"
    server = subprocess.Popen(procfile_command("web"), shell=True, cwd=ROOT, env=procfile_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, body = get(f"{base}/ping")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
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
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert '"GET /nodes.txt HTTP/1.1" 200' in output  # the access log goes to stdout
