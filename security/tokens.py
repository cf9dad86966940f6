"""Issuing and checking the service's JWTs (contract §5).

The signing secret is JWT_SECRET or, when unset, one generated once and kept in the database, so
that every worker and every instance signs and accepts the same tokens.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt

from config import Config
from models import shared_secret

log = logging.getLogger(__name__)
VERIFIED_TOKENS = 4096
REQUIRED_CLAIMS = ["sub", "name", "email", "role", "permissions", "iat", "exp", "jti", "auth_time", "ver"]


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
        self.clock = clock
        self._secret = config.jwt_secret
        self._lock = threading.Lock()
        # Signatures already checked: the claims of a token string never change, only whether it has
        # expired, which is checked on every use. Bounded; cleared when full.
        self._verified: dict[str, dict] = {}

    def now(self) -> int:
        return int(self.clock().timestamp())

    def secret(self) -> str:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = shared_secret("jwt")
                    log.warning("JWT_SECRET is not set: signing tokens with a secret kept in the database")
        return self._secret

    def issue(self, user, auth_time: int) -> IssuedToken:
        now = self.now()
        claims = {
            "sub": str(user.id),
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "permissions": user.permissions,
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
            "auth_time": auth_time,
            "ver": user.token_version,
        }
        token = jwt.encode(claims, self.secret(), algorithm=self.algorithm)
        return IssuedToken(token, self.ttl, datetime.fromtimestamp(now + self.ttl, timezone.utc))

    def verify(self, token: str) -> dict:
        """The claims of a well-signed, unexpired token of ours; raises InvalidToken otherwise."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature(token)
            if len(self._verified) >= VERIFIED_TOKENS:
                self._verified.clear()
            self._verified[token] = claims
        if claims["exp"] <= self.now():
            raise InvalidToken("The token has expired.")
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
        if not all(isinstance(claims[name], int) and not isinstance(claims[name], bool)
                   for name in ("iat", "exp", "auth_time", "ver")) or not claims["sub"].isdigit():
            raise InvalidToken("The token's claims are malformed.")
        return claims
