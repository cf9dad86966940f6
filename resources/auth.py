"""POST /auth (password, then TOTP when enabled) and POST /auth/refresh (contract §5)."""
import math
from datetime import timedelta, timezone

import falcon

from models import ApiKey, User, fold, naive_utc_now
from models.login_failure import clear_failures, purge_expired, record_attempt, seconds_throttled, strike_off
from resources.bodies import load_json
from resources.client import client_address
from resources.errors import Problem
from resources.hooks import authenticate, unauthorized
from resources.media import negotiate
from schemas.auth import login_schema, token_schema
from security import totp
from security.passwords import hash_password, needs_rehash, verify_password, verify_against_dummy

WRONG_CREDENTIALS = "The username or password is wrong."


def token_response(resp, issued) -> None:
    resp.media = {"data": token_schema.dump(issued)}  # Cache-Control: no-store is set on entry, errors too


@falcon.before(negotiate)
class Login:
    def __init__(self, config, tokens):
        self.config = config
        self.tokens = tokens

    def on_post(self, req, resp):
        resp.cache_control = ["no-store"]
        credentials = load_json(req, login_schema)
        now = self.tokens.clock()
        moment = now.timestamp()
        address = client_address(req, self.config.trusted_proxy_hops)
        if credentials["api_key"] is not None:
            return self.exchange_key(req, resp, credentials["api_key"], now, address)
        # A username is throttled per address it is tried from: failures from elsewhere cannot lock its
        # owner out. The address's own limit bounds one source's guessing across all usernames.
        user_key = f"user:{address} {fold(credentials['username'])}"
        keys = (user_key, f"address:{address}")
        attempt = record_attempt(keys, moment)
        self.refuse_if_throttled(keys, moment, attempt)

        def failed(problem: Problem) -> Problem:
            purge_expired(moment, self.config.login_window)  # the attempt's rows stay: they are the failure
            return problem

        user = User.by_username(credentials["username"])
        if user is None:
            verify_against_dummy(credentials["password"])
            raise failed(Problem(401, WRONG_CREDENTIALS))
        if not verify_password(user.password_hash, credentials["password"]):
            raise failed(Problem(401, WRONG_CREDENTIALS))
        if not user.active:
            strike_off(attempt)  # the password was right: not a guess
            raise Problem(403, "This account is disabled.")
        if user.totp_secret:
            code = credentials["otp"]
            if code is None:
                strike_off(attempt)
                raise otp_problem("This account uses two-factor authentication: give the current one-time password.")
            step = totp.matching_step(user.totp_secret, code, now)
            if step is None:
                raise failed(otp_problem("The one-time password is wrong or has expired."))
            if not user.claim_totp_step(step):
                raise failed(otp_problem("This one-time password has been used already; wait for the next one."))
        strike_off(attempt)
        clear_failures(user_key)
        req.context.user_id = str(user.id)
        if needs_rehash(user.password_hash):
            User.update(password_hash=hash_password(credentials["password"]), updated_at=naive_utc_now()).where(
                User.id == user.id).execute()
        token_response(resp, self.tokens.issue(user, auth_time=int(moment)))

    def exchange_key(self, req, resp, key: str, now, address: str) -> None:
        """An API key for a token: no password, no one-time password (the key stands for both; docs/api.md)."""
        moment = now.timestamp()
        keys = (f"address:{address}",)  # a key is not guessable: only the address's own limit applies
        attempt = record_attempt(keys, moment)
        self.refuse_if_throttled(keys, moment, attempt, (self.config.login_failures_per_address,))
        row = ApiKey.by_key(key)
        if row is None:
            purge_expired(moment, self.config.login_window)
            raise Problem(401, "The API key is not known.")
        strike_off(attempt)
        naive_now = now.astimezone(timezone.utc).replace(tzinfo=None)
        # A key with under a second left would give a token that ends as it starts.
        standing = row.standing(naive_now + timedelta(seconds=1))
        if standing:
            raise Problem(401, standing)
        user = User.get_or_none(User.id == row.user_id)
        if user is None or not user.active:
            raise Problem(403, "The account this API key acts for is disabled.")
        req.context.user_id = str(user.id)
        req.context.api_key = row.name
        ApiKey.update(last_used_at=naive_now).where(ApiKey.id == row.id).execute()
        token_response(resp, self.tokens.issue(user, auth_time=int(moment), key=row))

    def refuse_if_throttled(self, keys, moment: float, attempt: list[int], limits=None) -> None:
        limits = limits or (self.config.login_failures_per_username, self.config.login_failures_per_address)
        wait = max(seconds_throttled(key, limit, self.config.login_window, moment) for key, limit in zip(keys, limits))
        if wait > 0:
            strike_off(attempt)  # refused unheard: it does not count
            raise Problem(429, "Too many failed logins; try again later.",
                          headers={"Retry-After": str(max(math.ceil(wait), 1))})


def otp_problem(message: str) -> Problem:
    return Problem(422, "Invalid field: otp.", errors={"otp": [message]})


@falcon.before(negotiate)
class Refresh:
    def __init__(self, config, tokens):
        self.config = config
        self.tokens = tokens

    def on_post(self, req, resp):
        resp.cache_control = ["no-store"]
        claims = authenticate(req, self.tokens)
        user = User.get_or_none(User.id == int(claims["sub"]))
        if user is None or not user.active:
            raise unauthorized("The account no longer exists or is disabled.")
        if user.token_version != claims["ver"]:
            raise unauthorized("The token has been revoked; log in again.")
        if self.tokens.now() >= claims["auth_time"] + self.config.session_max_age:
            raise unauthorized("The session has reached its maximum age; log in again.")
        key = None
        if "key_id" in claims:
            key = ApiKey.get_or_none(ApiKey.id == claims["key_id"])
            naive_now = self.tokens.clock().astimezone(timezone.utc).replace(tzinfo=None)
            standing = key.standing(naive_now + timedelta(seconds=1)) if key else "The API key has been revoked."
            if standing:
                raise unauthorized(standing)
        token_response(resp, self.tokens.issue(user, auth_time=claims["auth_time"], key=key))
