"""The service as its clients and platforms reach it: gunicorn from the Procfile, monitors probing with HEAD,
curl and wget sidecars polling, long request lines, malformed requests on raw sockets (contract §9)."""
import os
import socket
import subprocess
import time
import urllib.request
from email.utils import parsedate_to_datetime

import orjson
import pytest

from models.dating import settled
from tests.data import PASSWORD, make_user
from tests.live_server import get, post_json, procfile_env, serve

pytestmark = [pytest.mark.slow, pytest.mark.keeps_rows]
NOT_COMPARED = {"date", "x-request-id", "connection"}


@pytest.fixture(scope="module")
def live(config, db):
    """One gunicorn with two workers for the module, and a token."""
    make_user("httpclients")
    with serve(procfile_env(config.database_url, workers=2)) as (base, _):
        token = post_json(f"{base}/auth", {"username": "httpclients", "password": PASSWORD})["data"]["token"]
        yield base, {"Authorization": f"Bearer {token}"}


def request(url, method="GET", headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers or {}),
                                    timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def raw(base, data: bytes) -> tuple[int, dict, bytes]:
    """What the server answers to exactly `data` on a fresh connection."""
    host, port = base.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("path, authorised", [
    ("/ping", False), ("/health", False), ("/nodes", False), ("/nodes.txt", False), ("/nodes?country=GB", False),
    ("/countries", True), ("/countries/GB", True), ("/cities/2643743", True), ("/openapi.json", False),
    ("/docs", False),
])
def test_head_answers_what_get_would_without_the_body(live, path, authorised):
    base, token = live
    headers = token if authorised else {}
    got = request(base + path, headers=headers)
    head = request(base + path, "HEAD", headers)
    assert head[0] == got[0] == 200 and head[2] == b""
    same = lambda found: {k: v for k, v in found.items() if k not in NOT_COMPARED}  # noqa: E731
    if path == "/ping":  # its timestamp may have moved on by a second: its length too, at worst
        assert set(same(head[1])) == set(same(got[1]))
    else:
        assert same(head[1]) == same(got[1])
    if "etag" in got[1]:  # conditional HEAD too
        assert request(base + path, "HEAD", {**headers, "If-None-Match": got[1]["etag"]})[0] == 304


def test_monitors_and_spiders_find_the_service_up(live):
    base, _ = live
    curl = subprocess.run(["curl", "-sfI", f"{base}/health"], capture_output=True, text=True, timeout=30)
    assert curl.returncode == 0 and curl.stdout.startswith("HTTP/1.1 200")
    spider = subprocess.run(["wget", "--spider", "-q", f"{base}/nodes.txt"], capture_output=True, timeout=30)
    assert spider.returncode == 0


def test_media_types_are_compared_without_regard_to_case(live):
    base, _ = live
    status, headers, _ = request(f"{base}/nodes", headers={"Accept": "TEXT/PLAIN"})
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    status, headers, body = request(f"{base}/nodes", headers={"Accept": "image/PNG"})
    assert status == 406 and headers["vary"] == "Accept" and orjson.loads(body)["status"] == 406


def test_a_request_line_of_8_kib_is_served(live):
    base, token = live
    ids = ",".join(str(2_000_000 + i) for i in range(1000))  # 1000 seven-digit ids: the contract's maximum
    assert request(f"{base}/cities?id={ids}", headers=token)[0] == 200
    # And exactly 8190 bytes of request line (gunicorn's most; 8 KiB with its CRLF): zeros pad the first id.
    prefix, suffix = "GET /nodes?id=", " HTTP/1.1"
    values = ",".join(str(1_000_000 + i) for i in range(999))
    values = "0" * (8190 - len(prefix) - len(suffix) - len(values)) + values
    line = f"{prefix}{values}{suffix}"
    assert len(line) == 8190
    assert raw(base, f"{line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())[0] == 200


@pytest.mark.parametrize("data, status", [
    (b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n", 431),
    (b"NOT A REQUEST LINE\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n", 400),
])
def test_the_servers_own_refusals_are_problem_details(live, data, status):
    base, _ = live
    answered, headers, body = raw(base, data)
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    problem = orjson.loads(body)
    assert problem["status"] == status and problem["type"] == "about:blank" and problem["detail"]


def test_pollers_download_only_what_changed(live, tmp_path):
    base, _ = live
    # curl with the ETag it saved; then with the file's time as If-Modified-Since.
    etag, out = tmp_path / "etag", tmp_path / "nodes.txt"
    first = subprocess.run(["curl", "-s", "-w", "%{http_code}", "--etag-save", str(etag), "-o", str(out),
                            f"{base}/nodes.txt"], capture_output=True, text=True, timeout=30)
    again = subprocess.run(["curl", "-s", "-w", "%{http_code}", "--etag-compare", str(etag), "-o", "/dev/null",
                            f"{base}/nodes.txt"], capture_output=True, text=True, timeout=30)
    assert (first.stdout, again.stdout) == ("200", "304")
    # A poller's saved date gets a 304 once the second it names is settled (resources/conditional.py): until
    # then the list is sent again, as a change in that second could still appear. Wait for that, as a poller
    # polling again would.
    status, headers, _ = request(f"{base}/nodes.txt")
    while not settled(int(parsedate_to_datetime(headers["last-modified"]).timestamp())):
        time.sleep(0.1)
    status, headers, _ = request(f"{base}/nodes.txt")
    since = subprocess.run(["curl", "-s", "-w", "%{http_code}", "-o", "/dev/null", "-H",
                            f"If-Modified-Since: {headers['last-modified']}", f"{base}/nodes.txt"],
                           capture_output=True, text=True, timeout=30)
    assert since.stdout == "304"
    # wget -N keeps the file's time from Last-Modified and asks If-Modified-Since.
    for _ in range(2):
        run = subprocess.run(["wget", "-N", "-S", f"{base}/nodes.txt"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=30)
        assert run.returncode == 0
    assert "304 Not Modified" in run.stderr


def test_instances_on_one_host_do_not_share_a_control_socket(config, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = lambda: procfile_env(config.database_url, workers=1, HOME=str(home))  # noqa: E731
    with serve(env()) as (first, _):
        with serve(env()) as (second, _):
            assert get(f"{second}/ping")[0] == 200
        # The second is gone; the first still answers, and neither made a socket in the shared home.
        assert get(f"{first}/ping")[0] == 200
    assert not (home / ".gunicorn").exists()


def test_host_binds_the_address_it_names(config):
    env = procfile_env(config.database_url, workers=1, HOST="127.0.0.1")
    with serve(env) as (base, _):
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{env['PORT']}"], capture_output=True, text=True)
        assert f"127.0.0.1:{env['PORT']}" in listening.stdout and f"0.0.0.0:{env['PORT']}" not in listening.stdout
        assert get(f"{base}/ping")[0] == 200


def test_release_loads_the_reference_data_and_health_waits_for_it(tmp_path):
    """A fresh database: /health is 503 until the Procfile's release has run."""
    from tests.live_server import run_release

    env = procfile_env(f"sqlite:///{tmp_path}/fresh.db", workers=1)
    subprocess.run([os.sys.executable, "manage.py", "migrate"], cwd=os.path.dirname(os.path.dirname(__file__)),
                   env=env, check=True, capture_output=True)
    with serve(env) as (base, _):
        status, _, body = request(f"{base}/health")
        assert status == 503 and "Reference data is missing" in orjson.loads(body)["detail"]
        released = run_release(env)
        assert released.returncode == 0, released.stderr
        assert "cities: 33985 (33985 new, 0 updated)" in released.stdout
        assert request(f"{base}/health")[0] == 200
        time.sleep(0.1)
    again = run_release(env)
    assert "schema is up to date" in again.stdout and "cities: 33985 (0 new, 0 updated)" in again.stdout
