"""The deploy path: the Procfile's `release` then `web` (real gunicorn, three workers)."""
import errno
import glob
import gzip
import json
import os
import runpy
import subprocess
import sys
import tempfile
import threading
import types
import urllib.request

import pytest

import readmodel.snapshot
from app import LISTS
from readmodel.instance_version import InstanceVersion
from readmodel.store import ReadModel
from schemas.cidr import cidr_text
from server.worker import ProblemSyncWorker

from models import ServiceSecret
from tests.data import PASSWORD, make_user
from tests.live_server import ROOT, get, gunicorn_master, post_json, procfile_command, procfile_env, run_release, \
    serve, wait_for_read_models, wait_for_workers

pytestmark = pytest.mark.slow
METRICS_TOKEN = "metrics-token-for-the-tests"


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
    # A busy worker holds its access lines a moment; none is lost when it stops.
    assert any(e["path"] == "/auth/refresh" for e in access)
    assert len([e for e in entries if e["message"].startswith("Worker exiting")]) == 3
    assert PASSWORD not in server.output and token not in server.output


def test_every_worker_sends_the_whole_lists_from_the_files_its_instance_made(config, nodes):
    """The whole address list and the whole CIDR list, of either family or both, as each worker sends them
    (sendfile from its range of the one file of each kind the instance made), plain, gzip-coded and by HEAD."""
    env = procfile_env(config.database_url, workers=2, METRICS_TOKEN=METRICS_TOKEN)
    addresses = [node.ip.encode() + b"\n" for node in sorted(nodes, key=lambda node: node.id)]
    v4 = b"".join(line for line in addresses if b":" not in line)
    v6 = b"".join(line for line in addresses if b":" in line)
    lists = [("", b"".join(addresses)), ("family=6", v6), ("family=4", v4), ("aggregate=cidr", cidr_text(v4 + v6)),
             ("aggregate=cidr&family=6", cidr_text(v6)), ("aggregate=cidr&family=4", cidr_text(v4)),
             ("direction=desc", b"".join(reversed(addresses))),
             ("order=id&direction=desc&family=6", b"".join(line for line in reversed(addresses) if b":" in line))]
    with serve(env) as (base, server):
        wait_for_read_models(base, 2, METRICS_TOKEN)  # else a worker may answer from the database
        for query, expected in lists:
            url = f"{base}/nodes.txt?{query}"
            for _ in range(6):  # enough requests to reach both workers
                status, headers, body = get(url)
                assert (status, body, headers["Content-Length"]) == (200, expected, str(len(expected)))
                status, headers, body = get(url, {"Accept-Encoding": "gzip, identity;q=0"})  # small: asked for
                assert (status, headers["Content-Encoding"], gzip.decompress(body)) == (200, "gzip", expected)
                request = urllib.request.Request(url, method="HEAD")
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert (response.headers["Content-Length"], response.read()) == (str(len(expected)), b"")
        master = gunicorn_master(server.pid)
        lists_folder = glob.glob(os.path.join(tempfile.gettempdir(), f"perfops-read-model-turns-{master}-*.lists"))
        made = glob.glob(os.path.join(lists_folder[0], "*", "*"))
        for kind in ("addresses", "cidr"):
            assert sorted(os.path.basename(path).partition(".")[2] for path in made
                          if os.path.basename(os.path.dirname(path)) == kind) == ["", "4,6.gz", "4.gz", "6.gz", "json"]
        for kind, part in (("addresses-by-id-desc-4,6", "4,6"), ("addresses-by-id-desc-6", "6")):  # another order
            assert sorted(os.path.basename(path).partition(".")[2] for path in made
                          if os.path.basename(os.path.dirname(path)) == kind) == ["", f"{part}.gz", "json"]
    assert not os.path.exists(lists_folder[0])  # removed when the instance stops


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


def test_honcho_runs_the_procfile_as_a_developer_would(config, db, tmp_path):
    """`honcho run python manage.py release` then `honcho start web`, with the settings in an env file
    (honcho and `heroku local` read .env; `honcho start` alone would also start `release`, and stop `web`
    when `release` exits: docs/operations.md says to start `web` alone)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.live_server import ROOT, free_port

    honcho = Path(sys.executable).parent / "honcho"
    port = free_port()
    env_file = tmp_path / "dev.env"
    env_file.write_text(f"DATABASE_URL={config.database_url}\nPORT={port}\nWEB_CONCURRENCY=1\nHOST=127.0.0.1\n")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    release = subprocess.run([str(honcho), "-e", str(env_file), "run", "python", "manage.py", "release"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert release.returncode == 0 and "schema is up to date" in release.stdout, release.stderr
    # honcho prints from its SIGTERM handler: a signal that lands while it prints a child's line makes that
    # print reentrant (RuntimeError) and honcho hangs. So the signal goes to honcho alone (it stops its
    # children) once the last line it will print before stopping, the access line of /health, is out.
    output_file = tmp_path / "honcho.out"
    with open(output_file, "wb") as output_sink:
        web = subprocess.Popen([str(honcho), "-e", str(env_file), "start", "web"], cwd=ROOT, env=env,
                               stdout=output_sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert get(f"http://127.0.0.1:{port}/health")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline and web.poll() is None, "honcho start web did not serve"
                time.sleep(0.2)
        while '"path":"/health"' not in output_file.read_text(errors="replace"):
            assert time.monotonic() < deadline, "no access line for /health"
            time.sleep(0.05)
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            raise
    output = output_file.read_text(errors="replace")
    assert "web.1" in output and "Listening at: http://127.0.0.1:" in output


@pytest.mark.parametrize("setting, says", [
    ({"DATABASE_URL": "mysql://root@localhost/perfops"}, "DATABASE_URL must be a postgresql://"),
    ({"JWT_SECRET": "short"}, "JWT_SECRET must be at least 32 bytes"),
    ({"PORT": "http"}, "PORT must be an integer"),
    ({"DATA_FRESHNESS": "60"}, "DATA_FRESHNESS must be between"),
])
def test_a_setting_the_service_cannot_start_with_is_one_json_line_and_status_1(setting, says):
    env = procfile_env("sqlite:///unused.sqlite3", workers=1, **setting)
    result = subprocess.run(procfile_command("web"), shell=True, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) == 1, lines
    line = json.loads(lines[0])
    assert line["level"] == "critical" and says in line["message"]


class GatedReadModel(ReadModel):
    """A read model whose refreshes wait for the test to open the gate: a build that takes as long as needed."""

    def __init__(self, instance):
        super().__init__(LISTS, 60.0, instance=instance)
        self.gate = threading.Event()

    def refresh(self):
        self.gate.wait()
        super().refresh()


def test_a_fresh_instance_serves_at_once_and_a_replacement_worker_warms_up_first(db, monkeypatch):
    """Contract §14: on a fresh start no worker waits for its read model (requests are answered from the database
    meanwhile); a worker replacing one, while others serve from memory, builds before it takes requests."""
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    instance = InstanceVersion()
    notified = []
    worker = types.SimpleNamespace(notify=lambda: notified.append(1))

    def started_worker(model):
        monkeypatch.setitem(sys.modules, "wsgi", types.SimpleNamespace(read_model=model))
        thread = threading.Thread(target=hooks["post_worker_init"], args=(worker,))
        thread.start()
        return thread

    first = GatedReadModel(instance)
    try:
        thread = started_worker(first)
        thread.join(timeout=10)
        assert not thread.is_alive()  # returned while the build is held: it serves at once
        assert first.current() is None  # no snapshot yet: answered from the database
        first.gate.set()
        assert first.wait_until_built(timeout=30) and instance.serving_from_memory

        replacement = GatedReadModel(instance)
        thread = started_worker(replacement)
        thread.join(timeout=2.5)
        assert thread.is_alive() and notified  # still warming up, telling the arbiter it lives
        replacement.gate.set()
        thread.join(timeout=30)
        assert not thread.is_alive() and replacement.current() is not None
    finally:
        first.gate.set()
        first.stop()
        if "replacement" in locals():
            replacement.gate.set()
            replacement.stop()


class Listener:
    def __init__(self):
        self.asked = 0

    def accept(self):
        self.asked += 1
        raise BlockingIOError(errno.EAGAIN, "no connection waiting")


def test_a_worker_building_its_read_model_leaves_new_connections_to_the_others(db, nodes, monkeypatch):
    """While its read model is built from nothing, a worker of several accepts no connection (the others answer
    it, from memory or the database), and takes them again once built; a worker alone always accepts."""
    instance = InstanceVersion()
    model = ReadModel(LISTS, 60.0, instance=instance)
    monkeypatch.setitem(sys.modules, "wsgi", types.SimpleNamespace(read_model=model))
    building, finish = threading.Event(), threading.Event()
    build = readmodel.snapshot.build_node_table

    def held_build(*args, **kwargs):
        building.set()
        finish.wait(timeout=30)
        return build(*args, **kwargs)

    monkeypatch.setattr(readmodel.snapshot, "build_node_table", held_build)
    worker = ProblemSyncWorker.__new__(ProblemSyncWorker)  # only its accept() is exercised
    listener = Listener()
    try:
        model.start()
        assert building.wait(timeout=30) and model.building
        for workers, asked in ((2, 0), (1, 1)):
            worker.cfg = types.SimpleNamespace(workers=workers)
            with pytest.raises(BlockingIOError):
                worker.accept(listener)
            assert listener.asked == asked
        finish.set()
        assert model.wait_until_built(timeout=30) and not model.building
        worker.cfg = types.SimpleNamespace(workers=2)
        with pytest.raises(BlockingIOError):
            worker.accept(listener)
        assert listener.asked == 2
    finally:
        finish.set()
        model.stop()
        instance.remove_files()
