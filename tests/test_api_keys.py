"""API keys for machines: made, listed and revoked with manage.py, exchanged at POST /auth for the usual token,
revoked as tokens are (contract §12), every use logged with the key's name."""
import json
from datetime import timedelta

import pytest

from models import ApiKey, Node
from tests.data import FRESHNESS, LONDON, make_user
from tests.helpers import assert_problem, bearer, claims_of, manage, refresh

NEW_NODE = {"ip": "198.51.100.77", "city": LONDON}


def createkey(config, name, *extra, user="provisioner"):
    result = manage(config, "createkey", name, "--user", user, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def exchange(remembering_app, key):
    return remembering_app.simulate_post("/auth", json={"apiKey": key})



@pytest.fixture
def provisioner(db):
    return make_user("provisioner", role="remembering_app", permissions=["nodes:write", "billing"])


def test_a_key_is_shown_once_stored_as_a_digest_and_exchanged_for_a_token(remembering_app, config, provisioner, capsys):
    key = createkey(config, "edge-sidecar", "--permission", "nodes:write")
    assert key.startswith("pfk_") and len(key) == 64
    row = ApiKey.get(ApiKey.name == "edge-sidecar")
    assert key not in json.dumps(list(ApiKey.select().dicts()), default=str)  # only its digest is kept
    assert row.permissions == ["nodes:write"] and row.last_used_at is None

    capsys.readouterr()
    answer = exchange(remembering_app, key)
    assert answer.status_code == 200, answer.text
    claims = claims_of(answer.json["data"]["token"])
    assert claims["sub"] == str(provisioner.id) and claims["permissions"] == ["nodes:write"]
    assert (claims["key_id"], claims["key_name"]) == (row.id, "edge-sidecar")
    assert "otp" not in answer.text and answer.headers["Cache-Control"] == "no-store"
    assert ApiKey.get_by_id(row.id).last_used_at is not None

    created = remembering_app.simulate_post("/nodes", json=NEW_NODE, headers=bearer(answer.json["data"]["token"]))
    assert created.status_code == 201, created.text
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    # Every use is logged with the key's name: the exchange, the request, and the change it made.
    assert [line["message"] for line in lines if line.get("api_key") == "edge-sidecar"] == [
        "POST /auth 200", "node created", "POST /nodes 201"]


def test_a_key_carries_only_its_own_permissions_of_those_its_account_holds(remembering_app, config, provisioner):
    reader = createkey(config, "reader")  # no permission: reads only
    token = exchange(remembering_app, reader).json["data"]["token"]
    assert claims_of(token)["permissions"] == []
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200
    assert_problem(remembering_app.simulate_post("/nodes", json=NEW_NODE, headers=bearer(token)), 403)

    # The account loses a permission: a key's new tokens lose it too, though the key names it.
    writer = createkey(config, "writer", "--permission", "nodes:write")
    provisioner.permissions = ["billing"]
    provisioner.save()
    assert claims_of(exchange(remembering_app, writer).json["data"]["token"])["permissions"] == []


def test_a_key_cannot_carry_what_its_account_lacks_nor_share_a_name(config, provisioner):
    refused = manage(config, "createkey", "admin-key", "--user", "provisioner", "--permission", "users:admin")
    assert refused.returncode == 1 and "does not hold users:admin" in refused.stderr
    createkey(config, "edge")
    again = manage(config, "createkey", "edge", "--user", "provisioner")
    assert again.returncode == 1 and "exists already" in again.stderr
    for bad in (["bad name", "--user", "provisioner"], ["x", "--user", "nobody"],
                ["y", "--user", "provisioner", "--expires-in-days", "0"]):
        assert manage(config, "createkey", *bad).returncode == 1
    assert [row.name for row in ApiKey.select()] == ["edge"]


def test_revoking_a_key_stops_its_tokens_writing_at_once(remembering_app, config, provisioner):
    key = createkey(config, "edge", "--permission", "nodes:write")
    token = exchange(remembering_app, key).json["data"]["token"]
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200  # learnt: it stands
    revoked = manage(config, "revokekey", "edge")
    assert revoked.returncode == 0, revoked.stderr

    write = remembering_app.simulate_post("/nodes", json=NEW_NODE, headers=bearer(token))
    assert assert_problem(write, 401)["detail"] == "The API key has been revoked."
    assert Node.select().where(Node.ip == NEW_NODE["ip"]).count() == 0
    assert assert_problem(exchange(remembering_app, key), 401)["detail"] == "The API key has been revoked."
    assert assert_problem(refresh(remembering_app, token), 401)["detail"] == "The API key has been revoked."


def test_revoking_a_key_stops_its_tokens_reading_within_the_freshness_bound(remembering_app, config, clock,
                                                                          provisioner):
    token = exchange(remembering_app, createkey(config, "edge")).json["data"]["token"]
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200  # learnt: it stands
    assert manage(config, "revokekey", "edge").returncode == 0
    clock.advance(FRESHNESS - 1)
    assert remembering_app.simulate_get("/countries/GB", headers=bearer(token)).status_code == 200
    clock.advance(1)
    refused = remembering_app.simulate_get("/countries/GB", headers=bearer(token))
    assert assert_problem(refused, 401)["detail"] == "The API key has been revoked."


def test_an_expired_key_is_refused_and_its_tokens_end_with_it(remembering_app, config, clock, provisioner):
    key = createkey(config, "short", "--expires-in-days", "1")
    row = ApiKey.get(ApiKey.name == "short")
    # The key's expiry is stored against the wall clock; the remembering_app's clock is put just before it.
    clock.now = row.expires_at.replace(tzinfo=clock.now.tzinfo) - timedelta(minutes=5)
    claims = claims_of(exchange(remembering_app, key).json["data"]["token"])
    assert claims["exp"] == int(row.expires_at.replace(tzinfo=clock.now.tzinfo).timestamp())
    clock.advance(5 * 60)
    assert assert_problem(exchange(remembering_app, key), 401)["detail"] == "The API key has expired."


@pytest.mark.parametrize("body, field", [
    ({"apiKey": ""}, "apiKey"),
    ({"apiKey": "pfk_x", "username": "provisioner"}, "username"),
    ({"apiKey": "pfk_x", "otp": "123456"}, "otp"),
    ({"apiKey": 7}, "apiKey"),
])
def test_a_malformed_key_exchange_names_the_field(remembering_app, db, body, field):
    assert field in assert_problem(remembering_app.simulate_post("/auth", json=body), 422)["errors"]


def test_an_unknown_key_a_tampered_one_and_a_disabled_account_are_refused(remembering_app, config, provisioner):
    key = createkey(config, "edge")
    for wrong in ("pfk_0123456789abcdef_" + "A" * 43, key[:-1] + ("A" if key[-1] != "A" else "B"), "not a key"):
        assert assert_problem(exchange(remembering_app, wrong), 401)["detail"] == "The API key is not known."
    assert manage(config, "disable", "provisioner").returncode == 0
    assert_problem(exchange(remembering_app, key), 403)


def test_keys_are_listed_without_the_keys_themselves(config, provisioner):
    key = createkey(config, "edge", "--permission", "nodes:write", "--expires-in-days", "30")
    createkey(config, "old")
    assert manage(config, "revokekey", "old").returncode == 0
    listing = manage(config, "keys")
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert set(rows) == {"edge", "old"} and key not in listing.stdout and key[4:20] not in listing.stdout
    assert "nodes:write" in rows["edge"] and rows["edge"].endswith("active") and rows["old"].endswith("revoked")
    unknown = manage(config, "revokekey", "nope")
    assert unknown.returncode == 1 and "no API key 'nope'" in unknown.stderr


def test_a_key_token_refreshes_with_the_key_and_keeps_its_claims(remembering_app, config, provisioner):
    token = exchange(remembering_app, createkey(config, "edge", "--permission", "nodes:write")).json["data"]["token"]
    renewed = refresh(remembering_app, token)
    assert renewed.status_code == 200, renewed.text
    claims = claims_of(renewed.json["data"]["token"])
    assert (claims["key_name"], claims["permissions"]) == ("edge", ["nodes:write"])
