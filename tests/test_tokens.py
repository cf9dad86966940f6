"""Tokens (contract §5): POST /auth/refresh, what a token grants, how it ends; no test sleeps."""

import jwt
import pytest
from falcon import testing

from app import create_app
from models import User
from tests.data import JWT_SECRET, PASSWORD, make_user
from tests.contract import ContractClient
from tests.helpers import b64, claims_of, login, refresh


def test_refresh_rereads_the_user_and_keeps_auth_time(anonymous, clock):
    user = make_user("alice")
    first = claims_of(login(anonymous, username="alice", password=PASSWORD).json["data"]["token"])
    token = login(anonymous, username="alice", password=PASSWORD).json["data"]["token"]
    User.update(name="Alice Renamed", role="admin").where(User.id == user.id).execute()
    clock.advance(600)
    result = refresh(anonymous, token)
    assert result.status_code == 200 and result.headers["cache-control"] == "no-store"
    claims = claims_of(result.json["data"]["token"])
    assert (claims["name"], claims["role"]) == ("Alice Renamed", "admin")
    assert claims["auth_time"] == first["auth_time"]
    assert claims["iat"] == first["iat"] + 600 and claims["exp"] == claims["iat"] + 900
    assert claims["jti"] != first["jti"]


def test_refresh_refuses_an_expired_token(anonymous, clock):
    make_user("alice")
    token = login(anonymous, username="alice", password=PASSWORD).json["data"]["token"]
    clock.advance(900)
    result = refresh(anonymous, token)
    assert result.status_code == 401 and result.json["detail"] == "The token has expired."
    assert 'error="invalid_token"' in result.headers["www-authenticate"]


def test_refresh_refuses_forged_tokens(anonymous, clock):
    make_user("alice")
    token = login(anonymous, username="alice", password=PASSWORD).json["data"]["token"]
    header, payload, signature = token.split(".")
    claims = claims_of(token)
    forged = {
        "tampered": f"{header}.{b64({**claims, 'role': 'admin'})}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "other key": jwt.encode(claims, "another-secret-that-is-long-enough-000", algorithm="HS256"),
        "HS512 with our key": jwt.encode(claims, JWT_SECRET, algorithm="HS512"),
        "missing jti": jwt.encode({k: v for k, v in claims.items() if k != "jti"}, JWT_SECRET, algorithm="HS256"),
        "integer sub": f"{header}.{b64({**claims, 'sub': int(claims['sub'])})}.{signature}",
        "garbage": "not.a.token",
    }
    for name, token in forged.items():
        result = refresh(anonymous, token)
        assert result.status_code == 401, name
        assert result.headers["www-authenticate"].startswith('Bearer realm="PerfOps", error="invalid_token"')


def test_refresh_refuses_a_disabled_deleted_or_revoked_user(anonymous):
    user = make_user("alice")
    token = lambda: login(anonymous, username="alice", password=PASSWORD).json["data"]["token"]  # noqa: E731
    revoked = token()
    User.update(token_version=User.token_version + 1).where(User.id == user.id).execute()
    assert refresh(anonymous, revoked).json["detail"] == "The token has been revoked; log in again."
    assert refresh(anonymous, token()).status_code == 200
    disabled = token()
    User.update(active=False).where(User.id == user.id).execute()
    assert refresh(anonymous, disabled).status_code == 401
    User.update(active=True).where(User.id == user.id).execute()
    deleted = token()
    User.delete().where(User.id == user.id).execute()
    assert refresh(anonymous, deleted).status_code == 401


def test_refresh_stops_at_the_maximum_session_age(anonymous, clock):
    make_user("alice")
    token = login(anonymous, username="alice", password=PASSWORD).json["data"]["token"]
    elapsed = 0
    while elapsed + 899 < 86400:  # refresh just before each token expires
        clock.advance(899)
        elapsed += 899
        result = refresh(anonymous, token)
        assert result.status_code == 200
        token = result.json["data"]["token"]
    clock.advance(86400 - elapsed - 1)
    last = refresh(anonymous, token).json["data"]  # a second before the 24 hours are up
    assert last["expiresIn"] == 1  # a refreshed token expires with the session, not a TTL later
    clock.advance(1)
    result = refresh(anonymous, last["token"])
    assert result.status_code == 401
    assert result.json["detail"] == "The token has expired."


def test_refresh_without_a_token_is_401_without_an_error_code(anonymous):
    result = anonymous.simulate_post("/auth/refresh")
    assert result.status_code == 401
    assert result.headers["www-authenticate"] == 'Bearer realm="PerfOps"'


PROTECTED = ["/countries", "/countries/GB", "/regions", "/regions/154", "/cities", "/cities/2643743"]


@pytest.mark.parametrize("path", PROTECTED)
def test_locations_need_a_valid_token(anonymous, client, token, clock, path):
    missing = anonymous.simulate_get(path)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="PerfOps"'
    for header in ["Bearer nonsense", f"Basic {token}", "Bearer", f"Bearer {token}x"]:
        result = anonymous.simulate_get(path, headers={"Authorization": header})
        assert result.status_code == 401, header
        assert result.headers["content-type"] == "application/problem+json"
    assert client.simulate_get(path).status_code == 200
    clock.advance(900)
    expired = client.simulate_get(path)
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["www-authenticate"]


def test_authenticated_lists_are_private_to_caches(client):
    assert client.simulate_get("/countries").headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize("path", ["/nodes", "/nodes.txt", "/ping"])
def test_nodes_and_ping_are_public(anonymous, path):
    assert anonymous.simulate_get(path).status_code == 200


def test_ping_names_the_user_of_a_valid_token(client, anonymous, user):
    assert client.simulate_get("/ping").json["user"] == {
        "id": user.id, "name": user.name, "email": user.email, "role": "trial"}
    assert "user" not in anonymous.simulate_get("/ping").json
    bad = anonymous.simulate_get("/ping", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 200 and "user" not in bad.json


def test_the_permission_hook_answers_403_without_the_permission_whatever_the_role(config, db, clock):
    import falcon

    from resources.hooks import require_permission
    from security.tokens import TokenService

    tokens = TokenService(config, clock)

    @falcon.before(require_permission("nodes:write"))
    class Guarded:
        def __init__(self):
            self.tokens = tokens

        def on_get(self, req, resp):
            resp.media = {"user": req.context.user["sub"]}

    app = create_app(config, db=db, clock=clock, read_model=None)
    app.add_route("/guarded", Guarded())
    client = testing.TestClient(app)
    now = int(clock().timestamp())
    admin = tokens.issue(make_user("admin", role="admin"), now).token
    writer = tokens.issue(make_user("writer", permissions=["nodes:write"]), now).token
    assert client.simulate_get("/guarded").status_code == 401
    assert client.simulate_get("/guarded", headers={"Authorization": f"Bearer {admin}"}).status_code == 403
    allowed = client.simulate_get("/guarded", headers={"Authorization": f"Bearer {writer}"})
    assert allowed.status_code == 200 and allowed.json["user"].isdigit()


def test_without_jwt_secret_every_instance_shares_one_kept_in_the_database(config, db, clock):
    from dataclasses import replace

    from models import ServiceSecret

    ServiceSecret.delete().execute()
    make_user("alice")
    unset = replace(config, jwt_secret=None)
    first, second = (ContractClient(create_app(unset, db=db, clock=clock, read_model=None)) for _ in range(2))
    token = login(first, username="alice", password=PASSWORD).json["data"]["token"]
    assert second.simulate_get("/countries/GB", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert refresh(second, token).status_code == 200
    assert ServiceSecret.select().count() == 1 and len(ServiceSecret.get().value) >= 32


def test_a_token_is_valid_until_it_expires_and_not_a_second_longer(client, clock):
    clock.advance(899)
    assert client.simulate_get("/regions/154").status_code == 200
    clock.advance(1)
    assert client.simulate_get("/regions/154").status_code == 401
