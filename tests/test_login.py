"""POST /auth (contract §5): passwords, TOTP, throttling, with an injected clock: no test sleeps."""
from datetime import timedelta

import jwt
import pytest

from app import create_app
from models import LoginFailure, User
from security import passwords
from tests.data import PASSWORD, make_user
from tests.contract import ContractClient
from tests.helpers import OTP_SECRET, claims_of, login, otp_at


def test_login_returns_a_short_lived_token_with_the_contract_claims(anonymous, clock):
    user = make_user("alice", role="admin", permissions=["nodes:write", "billing"])
    result = login(anonymous, username="alice", password=PASSWORD)
    assert result.status_code == 200, result.text
    assert result.headers["cache-control"] == "no-store"
    data = result.json["data"]
    assert set(data) == {"token", "tokenType", "expiresIn", "expiresAt"}
    assert (data["tokenType"], data["expiresIn"]) == ("Bearer", 900)
    assert data["expiresAt"] == (clock() + timedelta(seconds=900)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    claims = claims_of(data["token"])
    now = int(clock().timestamp())
    assert claims == {
        "sub": str(user.id), "name": "alice Example", "email": "alice@example.com", "role": "admin",
        "permissions": ["billing", "nodes:write"], "iat": now, "exp": now + 900, "jti": claims["jti"],
        "auth_time": now, "ver": 0,
    }
    assert jwt.get_unverified_header(data["token"])["alg"] == "HS256"


def test_usernames_ignore_case(anonymous):
    make_user("Alice")
    assert login(anonymous, username="aLICE", password=PASSWORD).status_code == 200


@pytest.mark.parametrize("body, fields", [
    ({}, {"username", "password"}),
    ({"username": "alice"}, {"password"}),
    ({"password": PASSWORD}, {"username"}),
    ({"username": "", "password": PASSWORD}, {"username"}),
    ({"username": "alice", "password": ""}, {"password"}),
    ({"username": 5, "password": PASSWORD}, {"username"}),
    ({"username": "alice", "password": ["x"]}, {"password"}),
    ({"username": "alice", "password": PASSWORD, "otp": "12345"}, {"otp"}),
    ({"username": "alice", "password": PASSWORD, "otp": 1234567}, {"otp"}),
    ({"username": "alice", "password": PASSWORD, "otp": True}, {"otp"}),
    ({"username": "alice", "password": PASSWORD, "colour": "red"}, {"colour"}),
])
def test_missing_or_invalid_fields_are_422_by_field(anonymous, body, fields):
    result = login(anonymous, **body)
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert set(result.json["errors"]) == fields


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b"username=alice", "application/x-www-form-urlencoded", 415),
    (b'{"username": "alice"}', None, 415),
])
def test_bodies_that_are_not_a_json_object(anonymous, body, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    result = anonymous.simulate_post("/auth", body=body, headers=headers)
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/problem+json"


def test_unknown_user_and_wrong_password_get_the_same_401(anonymous, monkeypatch):
    make_user("alice")
    burned = []
    real = passwords.verify_against_dummy
    monkeypatch.setattr("resources.auth.verify_against_dummy", lambda pw: burned.append(pw) or real(pw))
    unknown = login(anonymous, username="mallory", password=PASSWORD)
    wrong = login(anonymous, username="alice", password="wrong password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json == {"type": "about:blank", "title": "Unauthorized", "status": 401,
                                          "detail": "The username or password is wrong."}
    # The unknown user still cost one argon2 verification, against the dummy hash.
    assert burned == [PASSWORD]


def test_a_disabled_account_is_403_only_after_the_right_password(anonymous):
    make_user("alice", active=False)
    assert login(anonymous, username="alice", password="wrong password").status_code == 401
    result = login(anonymous, username="alice", password=PASSWORD)
    assert result.status_code == 403 and result.json["detail"] == "This account is disabled."


def test_an_outdated_hash_is_upgraded_on_login(anonymous):
    user = make_user("alice")
    weak = passwords.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    User.update(password_hash=weak).where(User.id == user.id).execute()
    assert login(anonymous, username="alice", password=PASSWORD).status_code == 200
    assert "m=19456,t=2,p=1" in User.get_by_id(user.id).password_hash


def test_2fa_asks_for_the_code_only_after_the_right_password(anonymous, clock):
    make_user("alice", otp_secret=OTP_SECRET)
    assert login(anonymous, username="alice", password="wrong password").status_code == 401
    result = login(anonymous, username="alice", password=PASSWORD)
    assert result.status_code == 422
    assert list(result.json["errors"]) == ["otp"]
    code = otp_at(OTP_SECRET, clock())
    assert login(anonymous, username="alice", password=PASSWORD, otp=code).status_code == 200


def test_a_wrong_code_and_a_replayed_code_are_422(anonymous, clock):
    make_user("alice", otp_secret=OTP_SECRET)
    code = otp_at(OTP_SECRET, clock())
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    assert login(anonymous, username="alice", password=PASSWORD, otp=wrong).json["errors"]["otp"]
    assert login(anonymous, username="alice", password=PASSWORD, otp=code).status_code == 200
    replay = login(anonymous, username="alice", password=PASSWORD, otp=code)
    assert replay.status_code == 422 and "used already" in replay.json["errors"]["otp"][0]
    # The previous step's code is refused too once a later step was used...
    previous = otp_at(OTP_SECRET, clock() - timedelta(seconds=30))
    assert login(anonymous, username="alice", password=PASSWORD, otp=previous).status_code == 422
    # ...and the next step's code works when its time comes.
    clock.advance(30)
    assert login(anonymous, username="alice", password=PASSWORD,
                 otp=otp_at(OTP_SECRET, clock())).status_code == 200


def test_codes_one_step_either_side_are_accepted_and_two_are_not(anonymous, clock):
    make_user("alice", otp_secret=OTP_SECRET)
    late = otp_at(OTP_SECRET, clock() - timedelta(seconds=30))
    assert login(anonymous, username="alice", password=PASSWORD, otp=late).status_code == 200
    too_old = otp_at(OTP_SECRET, clock() - timedelta(seconds=61))
    clock.advance(1)
    assert login(anonymous, username="alice", password=PASSWORD, otp=too_old).status_code == 422


def test_an_integer_code_with_a_leading_zero(anonymous, clock):
    make_user("alice", otp_secret=OTP_SECRET)
    while not otp_at(OTP_SECRET, clock()).startswith("0"):
        clock.advance(30)
    code = otp_at(OTP_SECRET, clock())
    result = login(anonymous, username="alice", password=PASSWORD, otp=int(code))
    assert result.status_code == 200, result.text
    clock.advance(30)
    as_float = float(otp_at(OTP_SECRET, clock()))  # JSON numbers: 1234.0 is an integer too
    assert login(anonymous, username="alice", password=PASSWORD, otp=as_float).status_code == 200
    assert login(anonymous, username="alice", password=PASSWORD, otp=12.5).status_code == 422


def test_a_code_used_on_one_instance_is_refused_on_another(config, db, clock):
    """Two app instances over one database: the used step lives in the database, not in a worker."""
    make_user("alice", otp_secret=OTP_SECRET)
    first, second = (ContractClient(create_app(config, db=db, clock=clock, read_model=None)) for _ in range(2))
    code = otp_at(OTP_SECRET, clock())
    assert login(first, username="alice", password=PASSWORD, otp=code).status_code == 200
    assert login(second, username="alice", password=PASSWORD, otp=code).status_code == 422


def test_failed_logins_per_username_throttle_even_the_right_password(anonymous, clock):
    make_user("alice")
    for _ in range(5):
        assert login(anonymous, username="alice", password="wrong password").status_code == 401
    result = login(anonymous, username="ALICE", password=PASSWORD)
    assert result.status_code == 429
    assert result.headers["content-type"] == "application/problem+json"
    assert int(result.headers["retry-after"]) == 900
    clock.advance(600)
    assert int(login(anonymous, username="alice", password=PASSWORD).headers["retry-after"]) == 300
    clock.advance(300)
    assert login(anonymous, username="alice", password=PASSWORD).status_code == 200


def test_a_successful_login_clears_its_usernames_count(anonymous):
    make_user("alice")
    for _ in range(4):
        login(anonymous, username="alice", password="wrong password")
    assert login(anonymous, username="alice", password=PASSWORD).status_code == 200
    for _ in range(4):
        assert login(anonymous, username="alice", password="wrong password").status_code == 401
    assert login(anonymous, username="alice", password=PASSWORD).status_code == 200


def test_wrong_codes_count_as_failures(anonymous, clock):
    make_user("alice", otp_secret=OTP_SECRET)
    accepted = {otp_at(OTP_SECRET, clock() + timedelta(seconds=step)) for step in (-30, 0, 30)}
    wrong = next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)
    for _ in range(5):
        assert login(anonymous, username="alice", password=PASSWORD, otp=wrong).status_code == 422
    code = otp_at(OTP_SECRET, clock())
    assert login(anonymous, username="alice", password=PASSWORD, otp=code).status_code == 429


def test_failed_logins_per_address(anonymous, clock):
    make_user("alice")
    for index in range(20):
        anonymous.simulate_post("/auth", json={"username": f"nobody{index}", "password": "guess"},
                                remote_addr="198.51.100.9")
    blocked = anonymous.simulate_post("/auth", json={"username": "alice", "password": PASSWORD},
                                      remote_addr="198.51.100.9")
    assert blocked.status_code == 429
    other = anonymous.simulate_post("/auth", json={"username": "alice", "password": PASSWORD},
                                    remote_addr="198.51.100.10")
    assert other.status_code == 200
    assert LoginFailure.select().where(LoginFailure.key == "address:198.51.100.9").count() == 20


def test_parallel_logins_racing_one_code_have_one_winner(config, db, clock):
    """Each thread is its own database connection; the step is claimed by one conditional UPDATE."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    make_user("alice", otp_secret=OTP_SECRET)
    code = otp_at(OTP_SECRET, clock())
    clients = [ContractClient(create_app(config, db=db, clock=clock, read_model=None)) for _ in range(8)]
    barrier = Barrier(len(clients))

    def attempt(client):
        barrier.wait()
        return login(client, username="alice", password=PASSWORD, otp=code).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(pool.map(attempt, clients))
    # One wins; the others are told the code is used, or, past the limit of attempts from one address, 429.
    assert statuses[0] == 200 and set(statuses[1:]) <= {422, 429} and 422 in statuses, statuses


def test_a_username_that_case_folding_lengthens_is_handled(anonymous):
    make_user("ß" * 150)
    # "ẞ" * 150 folds to "ss" * 150: 300 characters, twice the longest username.
    assert login(anonymous, username="ẞ" * 150, password=PASSWORD).status_code == 200
    assert login(anonymous, username="ẞ" * 150, password="wrong password").status_code == 401
