"""A revoked token (contract §12): refused by every write at once, and by every protected read within
DATA_FRESHNESS, without a database query per read. Revoked by the real commands an operator runs."""
import pytest

from models import Node
from tests.data import FRESHNESS, LONDON, PASSWORD, make_user
from tests.helpers import bearer, manage

NEW_NODE = {"ip": "198.51.100.123", "city": LONDON}


def login(app, username):
    return app.simulate_post("/auth", json={"username": username, "password": PASSWORD}).json["data"]["token"]


REVOKING = {
    "setpassword": lambda username: ("setpassword", username, "--password-stdin"),
    "disable": lambda username: ("disable", username),
    "otp on": lambda username: ("otp", username, "on"),
}


@pytest.mark.parametrize("command", REVOKING)
def test_a_revoked_token_cannot_write_at_once(remembering_app, config, command):
    make_user("revoked", permissions=["nodes:write"])
    token = login(remembering_app, "revoked")
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200  # learnt: it stands
    result = manage(config, *REVOKING[command]("revoked"), stdin="another long password\n")
    assert result.returncode == 0, result.stderr

    write = remembering_app.simulate_post("/nodes", json=NEW_NODE, headers=bearer(token))
    assert write.status_code == 401 and "WWW-Authenticate" in write.headers
    assert Node.select().where(Node.ip == NEW_NODE["ip"]).count() == 0
    assert remembering_app.simulate_delete("/nodes/1", headers=bearer(token)).status_code == 401
    # What the write learnt, the reads of this worker know at once.
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("command", REVOKING)
def test_a_revoked_token_cannot_read_past_the_freshness_bound(remembering_app, config, clock, command):
    make_user("revoked", permissions=["nodes:write"])
    token = login(remembering_app, "revoked")
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200  # learnt: it stands
    result = manage(config, *REVOKING[command]("revoked"), stdin="another long password\n")
    assert result.returncode == 0, result.stderr

    # What this worker learnt about the account stands for the freshness bound, then it asks again.
    clock.advance(FRESHNESS - 1)
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200
    clock.advance(1)
    refused = remembering_app.simulate_get("/countries/GB", headers=bearer(token))
    assert refused.status_code == 401 and refused.json["detail"] in (
        "The token has been revoked; log in again.", "The account no longer exists or is disabled.")


def test_a_standing_token_is_asked_about_once_per_freshness_bound_for_reads(remembering_app, clock, db, monkeypatch):
    make_user("reader")
    token = login(remembering_app, "reader")
    queries = []
    original = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        if '"user"' in sql or "FROM user" in sql:
            queries.append(sql)
        return original(sql, params, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", counting)
    for _ in range(20):
        assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200
    assert len(queries) <= 1
    clock.advance(FRESHNESS)
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200
    assert len(queries) <= 2
