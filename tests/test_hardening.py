"""What an attacker got through once, each shut and kept shut (issue: hardening)."""
import http.client
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import falcon
import jwt
import pytest

from models import LoginFailure, User
from observability.logs import JsonFormatter, RequestIdFilter
from security.tokens import TokenService
from tests.data import JWT_SECRET, PASSWORD, make_user
from tests.helpers import manage, write_csv
from tests.live_server import NGINX, ROOT, get, nginx_in_front, procfile_env, serve, wait_for_workers


# --- errors ---------------------------------------------------------------------------------------


class Exploding:
    def on_get(self, req, resp):
        raise RuntimeError("kaboom")


def test_an_unhandled_exception_is_one_json_line_with_the_request_id(app):
    """The service's logging set-up (as gunicorn loads it), writing to a buffer."""
    app.add_route("/exploding", Exploding())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("resources.errors")
    logger.addHandler(handler)
    try:
        result = falcon.testing.TestClient(app).simulate_get("/exploding")
    finally:
        logger.removeHandler(handler)
    assert result.status_code == 500 and result.headers["content-type"] == "application/problem+json"
    assert "kaboom" not in result.text  # the details are for the logs
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (error,) = [line for line in lines if line["level"] == "error"]
    assert error["request_id"] == result.headers["x-request-id"]
    assert "RuntimeError: kaboom" in error["exception"] and "Traceback" in error["exception"]


def test_if_none_match_star_on_a_missing_record_is_404(client, nodes):
    assert client.simulate_get("/nodes/999999", headers={"If-None-Match": "*"}).status_code == 404
    assert client.simulate_get(f"/nodes/{nodes[0].id}", headers={"If-None-Match": "*"}).status_code == 304


def test_json_media_types_are_compared_without_regard_to_case(anonymous, user):
    body = json.dumps({"username": user.username, "password": PASSWORD})
    result = anonymous.simulate_post("/auth", body=body, headers={"Content-Type": "APPLICATION/JSON; Charset=UTF-8"})
    assert result.status_code == 200, result.text


def test_unknown_keys_are_summarised_not_echoed(anonymous, user):
    body = {"username": user.username, "password": PASSWORD, **{f"{'k' * 500}{i}": 1 for i in range(100)}}
    result = anonymous.simulate_post("/auth", json=body)
    assert result.status_code in (400, 422) and len(result.text) < 4096, len(result.text)
    assert "100" in result.text  # how many there were


# --- tokens ---------------------------------------------------------------------------------------


def forged(config, clock, user, **changes):
    """A token signed with the service's key whose claims are not what the service writes."""
    claims = jwt.decode(TokenService(config, clock).issue(user, int(clock().timestamp())).token,
                        options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("changes", [
    {"sub": "²"}, {"sub": "1" * 40}, {"sub": "0"}, {"sub": "-1"}, {"sub": 1}, {"sub": " 1"},
    {"iat": 10**10}, {"nbf": 10**10}, {"exp": 10**30}, {"exp": 10**10}, {"iat": True},
    {"permissions": "nodes:write"}, {"permissions": [1]}, {"role": None}, {"auth_time": 10**10},
])
def test_tokens_with_claims_we_never_write_are_401(config, clock, user, anonymous, changes):
    token = forged(config, clock, user, **changes)
    headers = {"Authorization": f"Bearer {token}"}
    for call in (anonymous.simulate_post("/auth/refresh", headers=headers),
                 anonymous.simulate_get("/countries", headers=headers)):
        assert call.status_code == 401, (changes, call.text)
    ping = anonymous.simulate_get("/ping", headers=headers)  # answers anyone, naming only a valid token's user
    assert ping.status_code == 200 and "user" not in ping.json


def test_a_refreshed_token_never_outlives_the_session(config, clock, user, anonymous):
    tokens = TokenService(config, clock)
    auth_time = int(clock().timestamp())
    token = tokens.issue(user, auth_time).token
    clock.advance(config.session_max_age - 60)  # a minute of the session left; the TTL is longer
    token = tokens.issue(user, auth_time).token
    result = anonymous.simulate_post("/auth/refresh", headers={"Authorization": f"Bearer {token}"})
    assert result.status_code == 200, result.text
    claims = jwt.decode(result.json["data"]["token"], options={"verify_signature": False})
    assert claims["exp"] == auth_time + config.session_max_age
    assert result.json["data"]["expiresIn"] == 60


@pytest.mark.parametrize("state", ["on", "off"])
def test_turning_otp_on_or_off_revokes_the_users_tokens(config, clock, db, state, anonymous):
    user = make_user("dora", otp_secret="JBSWY3DPEHPK3PXP" if state == "off" else None)
    token = TokenService(config, clock).issue(user, int(clock().timestamp())).token
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.simulate_get("/countries", headers=headers).status_code == 200
    result = manage(config, "otp", "dora", state)
    assert result.returncode == 0, result.stderr
    assert "revoked" in result.stdout or state == "on"
    assert anonymous.simulate_post("/auth/refresh", headers=headers).status_code == 401


# --- login throttling -----------------------------------------------------------------------------


def login(client, username, password, address):
    return client.simulate_post("/auth", json={"username": username, "password": password}, remote_addr=address)


def test_failures_from_elsewhere_cannot_lock_the_owner_out(anonymous, user, config):
    for _ in range(config.login_failures_per_username + 3):
        login(anonymous, user.username.upper(), "wrong password", "203.0.113.9")
    assert login(anonymous, user.username, PASSWORD, "203.0.113.9").status_code == 429
    assert login(anonymous, user.username, PASSWORD, "198.51.100.20").status_code == 200


def test_expired_failures_are_purged(anonymous, user, config, clock):
    LoginFailure.insert_many([{"key": f"user:192.0.2.{i} nobody", "at": clock().timestamp() - 2 * config.login_window}
                              for i in range(50)]).execute()
    login(anonymous, user.username, "wrong password", "203.0.113.9")
    assert LoginFailure.select().count() == 2  # this failure, by user and by address


def test_concurrent_guesses_never_exceed_the_limit(config, db):
    """Twenty wrong passwords at once, through gunicorn's workers: at most the limit are heard."""
    make_user("erin")
    with serve(procfile_env(config.database_url, workers=4, LOGIN_FAILURES_PER_USERNAME="5")) as (base, _):
        def guess(_):
            request = urllib.request.Request(f"{base}/auth", data=b'{"username":"erin","password":"wrong guess"}',
                                             headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=30)
            except urllib.error.HTTPError as error:
                return error.code
        barrier = threading.Barrier(20)

        def at_once(index):
            barrier.wait()
            return guess(index)
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(at_once, range(20)))
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 20, statuses


# --- commands -------------------------------------------------------------------------------------


def test_createuser_into_a_closed_pipe_keeps_the_user_it_reported(config, db):
    """`createuser ... | head -c 0`: the report may fail to print, but it only ever follows the commit."""
    command = (f"{sys.executable} manage.py createuser frank --name Frank --email frank@example.com --role trial "
               f"--otp --password-stdin | head -c 0")
    subprocess.run(["bash", "-c", command], cwd=ROOT, env={**os.environ, "DATABASE_URL": config.database_url},
                   input=PASSWORD + "\n", text=True, capture_output=True, timeout=60)
    assert User.by_username("frank") is not None


def test_an_unclosed_quote_is_reported_where_it_opens(config, db, tmp_path):
    path = write_csv(tmp_path, 'ip,city\n192.0.2.1,2643743\n"192.0.2.2,2643743\n192.0.2.3,2643743\n'
                               '192.0.2.4,2643743\n')
    result = manage(config, "import-nodes", str(path))
    assert result.returncode == 1 and "line 3:" in result.stderr and "never closed" in result.stderr


# --- memory and slow clients, through the real servers ----------------------------------------------


def rss_kib(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])


@pytest.mark.slow
def test_distinct_urls_cannot_grow_a_worker_past_its_cache(config, nodes):
    """20,000 distinct valid list URLs, each asked twice (so the cache admits it): the worker's memory after
    the last 10,000 is what it was after the first 10,000, give or take the allocator's slack. 10,000 is more
    than any of the worker's caches holds (docs/architecture.md: 8,192 admission hashes at most), so each is
    full after the first part and wholly replaced in the second. Its bounds are the worker's caches, whatever
    the database: run once (about 40 s), on SQLite."""
    if not config.database_url.startswith("sqlite"):
        pytest.skip("the bound is the worker's caches, not SQL: the SQLite run holds it")
    env = procfile_env(config.database_url, workers=1, RESPONSE_CACHE_BYTES=str(4 * 1024 * 1024))
    with serve(env) as (base, server):
        (worker,) = wait_for_workers(server.pid, 1)
        connection = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=30)

        def ask(index: int) -> None:
            # Pages past the end are valid too (200, empty); the orderings multiply the keys.
            path = (f"/nodes?perPage={index % 997 + 1}&page={index // 997 + 1}"
                    f"&order={('id', 'city', 'country', 'region')[index % 4]}&direction={('asc', 'desc')[index % 2]}")
            for _ in range(2):
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, path

        for index in range(10_000):
            ask(index)
        settled = rss_kib(worker)
        for index in range(10_000, 20_000):
            ask(index)
        grown = rss_kib(worker) - settled
    assert grown < 6 * 1024, f"{grown} KiB more after 10,000 more distinct URLs"


@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="no nginx")
def test_slow_clients_behind_nginx_do_not_stall_the_service(config, db, tmp_path):
    """Six clients trickling headers or a body a byte at a time hold nginx connections, not the two sync
    workers: every /ping meanwhile is answered at once. (Straight to gunicorn, two such clients stop it:
    hence docs/operations.md's rule, a buffering proxy in front.)"""
    env = procfile_env(config.database_url, workers=2, HOST="127.0.0.1", TRUSTED_PROXY_HOPS="1")
    with serve(env) as (base, _), nginx_in_front(tmp_path, int(env["PORT"])) as front:
        listen = int(front.rsplit(":", 1)[1])
        stop = threading.Event()
        try:
            def trickle(index: int) -> None:
                with socket.create_connection(("127.0.0.1", listen)) as sock:
                    if index % 2:
                        sock.sendall(b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: 100\r\n\r\n")
                        piece = b"{"
                    else:
                        sock.sendall(b"GET /ping HTTP/1.1\r\n")
                        piece = b"X-Slow: 1\r\n"
                    while not stop.wait(0.5):
                        sock.sendall(piece)
            slow = [threading.Thread(target=trickle, args=(i,), daemon=True) for i in range(6)]
            for thread in slow:
                thread.start()
            time.sleep(1.5)
            for _ in range(8):
                with urllib.request.urlopen(f"http://127.0.0.1:{listen}/ping", timeout=3) as response:
                    assert response.status == 200
                    assert json.loads(response.read())["ip"] == "127.0.0.1"
                time.sleep(0.25)
        finally:
            stop.set()


def raw_exchange(base: str, request: bytes, timeout: float = 10) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_an_http_1_1_request_without_host_is_a_400_problem(config, db):
    """RFC 9112 §3.2 (contract §14); HTTP/1.0 has no Host requirement."""
    with serve(procfile_env(config.database_url, workers=1)) as (base, _):
        for path in (b"/ping", b"/nodes.txt"):
            answer = raw_exchange(base, b"GET " + path + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400") and b"application/problem+json" in head, answer[:300]
            assert b"Host" in body
        # The same poll with If-None-Match is never answered from the kept 304s either.
        tag = get(f"{base}/nodes.txt")[1]["ETag"]
        answer = raw_exchange(base, b"GET /nodes.txt HTTP/1.1\r\nIf-None-Match: " + tag.encode()
                              + b"\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400")
        assert raw_exchange(base, b"GET /ping HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200")
        assert raw_exchange(base, b"GET /ping HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n").startswith(
            b"HTTP/1.1 200")


def test_a_body_shorter_than_its_content_length_is_a_408_problem_and_the_worker_lives(tmp_path):
    """Contract §14: it held a worker until gunicorn killed it (25 s), and the client got gunicorn's HTML 500."""
    env = procfile_env(f"sqlite:///{tmp_path / 'unused.sqlite3'}", workers=1, JWT_SECRET=JWT_SECRET)
    with serve(env) as (base, server):
        (worker,) = wait_for_workers(server.pid, 1)
        answer = raw_exchange(base, b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    b"Content-Length: 100\r\n\r\n{\"username\":", timeout=30)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408") and b"application/problem+json" in head, answer[:300]
        assert b"Content-Length" in body
        assert get(f"{base}/ping")[0] == 200 and wait_for_workers(server.pid, 1) == [worker]
    assert "WORKER TIMEOUT" not in server.output
