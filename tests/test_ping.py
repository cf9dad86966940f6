from datetime import datetime, timezone

from config import Config

FIXED = datetime(2023, 10, 3, 14, 41, 31, 987654, tzinfo=timezone.utc)


def test_ping_is_the_whole_body(config, db, other_app):
    client = other_app(config, db=db, clock=lambda: FIXED)
    result = client.simulate_get("/ping", remote_addr="203.0.113.9")
    assert result.status_code == 200
    assert result.json == {"timestamp": "2023-10-03T14:41:31+00:00", "version": "1.0.0", "ip": "203.0.113.9"}
    assert result.headers["content-type"] == "application/json"


def test_ping_ignores_forwarded_for_without_trusted_proxies(client):
    result = client.simulate_get("/ping", remote_addr="10.0.0.1", headers={"X-Forwarded-For": "198.51.100.7"})
    assert result.json["ip"] == "10.0.0.1"


def test_ping_reads_forwarded_for_as_far_as_the_trusted_hops(db, other_app):
    client = other_app(Config(trusted_proxy_hops=1), db=db)
    headers = {"X-Forwarded-For": "192.0.2.66, 198.51.100.7"}
    # One trusted hop (the router at 10.0.0.1) vouches only for the address it received from.
    assert client.simulate_get("/ping", remote_addr="10.0.0.1", headers=headers).json["ip"] == "198.51.100.7"
    garbage = {"X-Forwarded-For": "not-an-address"}
    assert client.simulate_get("/ping", remote_addr="10.0.0.1", headers=garbage).json["ip"] == "10.0.0.1"


def test_ping_answers_text_accepting_clients_with_406_problem(client):
    result = client.simulate_get("/ping", headers={"Accept": "text/html"})
    assert result.status_code == 406
    assert result.headers["content-type"] == "application/problem+json"
