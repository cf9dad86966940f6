"""Operating the service: request ids, JSON logs without secrets, HTTP hygiene, proxies, health."""
import json
import logging

import pytest

from config import Config
from observability.logs import JsonFormatter, RequestIdFilter
from tests.data import JWT_SECRET, PASSWORD, make_user
from tests.helpers import OTP_SECRET, bearer, otp_at


def test_every_response_has_a_request_id_and_nosniff(anonymous):
    for path in ["/ping", "/nodes", "/nope", "/countries"]:
        result = anonymous.simulate_get(path)
        assert len(result.headers["x-request-id"]) == 32
        assert result.headers["x-content-type-options"] == "nosniff"
    assert anonymous.simulate_get("/docs/static/swagger-ui.css").headers["x-content-type-options"] == "nosniff"


def test_an_incoming_request_id_is_kept_if_it_is_a_plain_token(anonymous):
    heroku_style = "6c3c1f5e-0a3e-4a8b-9d42-6f0b3f6c1e2a"
    assert anonymous.simulate_get("/ping", headers={"X-Request-ID": heroku_style}).headers["x-request-id"] == heroku_style
    for hostile in ["a b", "x" * 201, "<script>", "id\r\nSet-Cookie: a=b"[:9] + "\x00"]:
        returned = anonymous.simulate_get("/ping", headers={"X-Request-ID": hostile}).headers["x-request-id"]
        assert returned != hostile and len(returned) == 32


def json_lines(caplog, capsys):
    """Application records (through the JSON formatter) and the access lines written to stdout."""
    formatter = JsonFormatter()
    records = [json.loads(formatter.format(record)) for record in caplog.records]
    return records + [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_logs_are_json_with_request_id_and_user_and_never_a_secret(anonymous, clock, caplog, capsys):
    make_user("alice", otp_secret=OTP_SECRET)
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())  # as the stdout handler has it
    logging.getLogger("security.tokens").warning("an application line")
    code = otp_at(OTP_SECRET, clock())
    result = anonymous.simulate_post("/auth", json={"username": "alice", "password": PASSWORD, "otp": code},
                                     headers={"X-Request-ID": "req-login-1"})
    token = result.json["data"]["token"]
    anonymous.simulate_get("/countries/GB", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-2"})
    anonymous.simulate_post("/auth", json={"username": "alice", "password": "wrong password guess"})
    entries = json_lines(caplog, capsys)
    assert any(e["logger"] == "security.tokens" and e["level"] == "warning" for e in entries)
    access = [e for e in entries if e["logger"] == "perfops.access"]
    login = next(e for e in access if e["request_id"] == "req-login-1")
    assert (login["method"], login["path"], login["status"], login["user_id"]) == ("POST", "/auth", 200, login["user_id"])
    assert login["user_id"].isdigit() and login["duration_ms"] >= 0 and login["ip"] == "127.0.0.1"
    country = next(e for e in access if e["request_id"] == "req-2")
    assert country["user_id"] == login["user_id"]
    everything = "\n".join(json.dumps(e) for e in entries)
    for secret in [PASSWORD, "wrong password guess", code, token, token.split(".")[2], OTP_SECRET]:
        assert secret not in everything


def test_cors_is_off_by_default(anonymous):
    result = anonymous.simulate_get("/nodes", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in result.headers


def test_cors_follows_the_origin_allow_list(other_app, db):
    client = other_app(Config(cors_origins=("https://app.example.com",), jwt_secret=JWT_SECRET), db=db)
    allowed = client.simulate_get("/nodes", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "ETag" in allowed.headers["access-control-expose-headers"]
    other = client.simulate_get("/nodes", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.simulate_request("OPTIONS", "/countries", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    # The answers depend on the Origin: caches must keep them apart (contract §9).
    assert allowed.headers["vary"] == other.headers["vary"] == "Accept, Accept-Encoding, X-Min-Data-Version, Origin"
    assert client.simulate_get("/ping", headers={"Origin": "https://app.example.com"}).headers["vary"] == "Origin"
    assert preflight.headers["vary"] == "Origin"


def test_without_cors_nothing_varies_on_origin(anonymous):
    assert anonymous.simulate_get("/nodes").headers["vary"] == "Accept, Accept-Encoding, X-Min-Data-Version"
    assert "vary" not in anonymous.simulate_get("/ping").headers


def test_cors_origins_must_be_origins():
    assert Config.from_env({"CORS_ORIGINS": "https://a.example, https://b.example/"}).cors_origins == (
        "https://a.example", "https://b.example")
    with pytest.raises(ValueError):
        Config.from_env({"CORS_ORIGINS": "a.example"})


def test_the_login_throttle_counts_the_address_behind_one_trusted_proxy(other_app, db, clock):
    make_user("alice")
    client = other_app(Config(trusted_proxy_hops=1, jwt_secret=JWT_SECRET), db=db, clock=clock)

    usernames = iter(range(100))

    def attempt(forwarded):
        # A new username each time, so that only the address's count can throttle.
        return client.simulate_post("/auth", json={"username": f"user{next(usernames)}", "password": "wrong"},
                                    remote_addr="10.1.1.1", headers={"X-Forwarded-For": forwarded})

    for _ in range(20):
        assert attempt("198.51.100.20").status_code == 401
    assert attempt("198.51.100.20").status_code == 429
    # Another client behind the same router is not throttled; a forged leftmost entry changes nothing.
    assert attempt("198.51.100.21").status_code == 401
    assert attempt("203.0.113.5, 198.51.100.20").status_code == 429


def test_health_touches_the_database(anonymous):
    result = anonymous.simulate_get("/health")
    assert result.status_code == 200 and result.json == {"status": "ok", "database": "ok", "referenceData": "ok"}


def test_with_the_database_unreachable_ping_lives_and_health_says_503(other_app, token, clock):
    from dataclasses import replace

    dead = Config(database_url="postgresql://postgres@127.0.0.1:1/none", retry_after=3)
    for config in (replace(dead, jwt_secret=JWT_SECRET), dead):  # with and without a configured secret
        client = other_app(config, clock=clock)
        ping = client.simulate_get("/ping", headers={"Authorization": f"Bearer {token}"})
        assert ping.status_code == 200
        health = client.simulate_get("/health")
        assert health.status_code == 503 and health.headers["retry-after"] == "3"


def test_statement_timeout_bounds_a_query_on_postgres(config, db):
    from dataclasses import replace

    import peewee

    from models import is_postgres
    from models.database import open_database

    if not is_postgres(db):
        pytest.skip("a PostgreSQL setting")
    bounded = open_database(replace(config, db_statement_timeout=100))
    try:
        with pytest.raises(peewee.OperationalError):
            bounded.execute_sql("SELECT pg_sleep(2)")
    finally:
        bounded.close_all()


def test_a_write_that_fails_as_it_starts_leaves_no_transaction_behind(config, db, clock, other_app, nodes):
    """A PATCH whose wait for the writers' lock is cut off is a 503, and the same thread's next request is
    served: PostgreSQL restarted under load once left a worker thread answering 503 until it was restarted."""
    from dataclasses import replace

    from models import is_postgres
    from models.database import open_database
    from security.tokens import TokenService
    from tests.contract import ContractClient

    if not is_postgres(db):
        pytest.skip("the statement timeout is a PostgreSQL setting")
    bounded = open_database(replace(config, db_statement_timeout=200))
    holder = open_database(config)
    writer = make_user("writer@example.com", permissions=["nodes:write"])
    token = TokenService(config, clock).issue(writer, auth_time=int(clock().timestamp())).token
    app = other_app(config, db=bounded, clock=clock).app
    client = ContractClient(app, headers=bearer(token))
    node = nodes[0].id
    try:
        with holder.atomic():  # another writer holds the lock longer than the statement timeout
            holder.execute_sql("SELECT version FROM data_version WHERE id = 1 FOR UPDATE")
            refused = client.simulate_patch(f"/nodes/{node}", json={"asn": 64999})
            assert refused.status_code == 503 and refused.headers["retry-after"]
        assert not bounded.in_transaction()
        assert client.simulate_get("/health").status_code == 200
        assert client.simulate_patch(f"/nodes/{node}", json={"asn": 64999}).status_code == 200
    finally:
        bounded.close_all()
        holder.close_all()
