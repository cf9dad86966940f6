"""Issuing and checking the service's JWTs (contract §5).

The signing secret is JWT_SECRET or, when unset, one generated once and kept in the database, so
that every worker and every instance signs and accepts the same tokens.
"""
from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt

from config import Config
from models import shared_secret
from models.base import MAX_ID
from security.revocation import Revocations

log = logging.getLogger(__name__)
VERIFIED_TOKENS = 4096
REQUIRED_CLAIMS = ["sub", "name", "email", "role", "permissions", "iat", "exp", "jti", "auth_time", "ver"]
USER_ID = re.compile(r"[1-9][0-9]{0,9}")  # ASCII digits only: str.isdigit() also takes "²"
# Clocks of instances may differ a little: a token from a few seconds ahead is not refused for it.
CLOCK_SKEW = 30


class InvalidToken(Exception):
    """The token cannot be accepted; the message says why, for the client."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    expires_at: datetime


class TokenService:
    def __init__(self, config: Config, clock):
        self.algorithm = config.jwt_algorithm
        self.ttl = config.jwt_ttl
        self.session_max_age = config.session_max_age
        self.clock = clock
        self._secret = config.jwt_secret
        self._lock = threading.Lock()
        # Signatures already checked: the claims of a token string never change, only whether it has
        # expired, which is checked on every use. Bounded; cleared when full.
        self._verified: dict[str, dict] = {}
        self.revocations = Revocations(config.data_freshness, lambda: self.clock().timestamp())

    def now(self) -> int:
        return int(self.clock().timestamp())

    def secret(self) -> str:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = shared_secret("jwt")
                    log.warning("JWT_SECRET is not set: signing tokens with a secret kept in the database")
        return self._secret

    def issue(self, user, auth_time: int, key=None) -> IssuedToken:
        """A token for `user`, who logged in at `auth_time`; it expires after the TTL, and never after the
        session's maximum age (so refreshing cannot stretch a session past it). With an API `key`, the token
        carries the key's permissions that the account still holds, names the key, and ends with it."""
        now = self.now()
        expires = min(now + self.ttl, auth_time + self.session_max_age)
        permissions = user.permissions
        if key is not None:
            permissions = sorted(set(key.permissions) & set(permissions))
            if key.expires_at is not None:
                expires = min(expires, int(key.expires_at.replace(tzinfo=timezone.utc).timestamp()))
        claims = {
            "sub": str(user.id),
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "permissions": permissions,
            "iat": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "auth_time": auth_time,
            "ver": user.token_version,
            **({"key_id": key.id, "key_name": key.name} if key is not None else {}),
        }
        token = jwt.encode(claims, self.secret(), algorithm=self.algorithm)
        return IssuedToken(token, expires - now, datetime.fromtimestamp(expires, timezone.utc))

    def verify(self, token: str, at_once: bool = False) -> dict:
        """The claims of a well-signed, unexpired token of ours whose account still stands behind it (within
        the freshness bound, or `at_once`: for a write); raises InvalidToken otherwise."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature(token)
            if len(self._verified) >= VERIFIED_TOKENS:
                self._verified.clear()
            self._verified[token] = claims
        now = self.now()
        if claims["exp"] <= now:
            raise InvalidToken("The token has expired.")
        if claims["iat"] > now + CLOCK_SKEW or claims.get("nbf", 0) > now + CLOCK_SKEW:
            raise InvalidToken("The token is not valid yet.")
        revoked = self.revocations.reason(claims, at_once)
        if revoked:
            raise InvalidToken(revoked)
        return claims

    def _verify_signature(self, token: str) -> dict:
        try:
            claims = jwt.decode(
                token, self.secret(), algorithms=[self.algorithm],
                # Time is checked below against the injected clock, not PyJWT's own.
                options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise InvalidToken("The token is malformed or not signed by this service.") from None
        if not well_formed(claims, self.ttl):
            raise InvalidToken("The token's claims are malformed.")
        return claims


def well_formed(claims: dict, ttl: int) -> bool:
    """Claims as this service writes them: validated like any input, though the signature is good (a leaked
    or misused key must not reach a 500, a user id out of range, or a token that never expires)."""
    times = ("iat", "exp", "auth_time", "ver") + (("nbf",) if "nbf" in claims else ())
    if not all(type(claims[name]) is int for name in times):
        return False
    if not all(isinstance(claims[name], str) for name in ("sub", "name", "email", "role", "jti")):
        return False
    if not isinstance(claims["permissions"], list) or not all(isinstance(p, str) for p in claims["permissions"]):
        return False
    if ("key_id" in claims or "key_name" in claims) and not (
            type(claims.get("key_id")) is int and 0 < claims["key_id"] <= MAX_ID
            and isinstance(claims.get("key_name"), str)):
        return False
    return (USER_ID.fullmatch(claims["sub"]) is not None and int(claims["sub"]) <= MAX_ID
            and claims["auth_time"] <= claims["iat"] < claims["exp"] <= claims["iat"] + ttl)
