"""API keys: long-lived credentials for machines, exchanged at POST /auth for the usual short-lived token.

A key acts for the account it was made for, with at most that account's permissions (the key's own list,
narrowed to what the account still holds when it is exchanged). Only a digest of the key is stored: the key is
shown once, when it is made. It reads `pfk_<lookup>_<secret>`: the lookup finds the row without scanning, the
secret (256 random bits) is what the digest proves. A digest needs no slow hash: the secret is random, not
chosen by a person, so there is nothing to guess from it (GitHub stores its tokens the same way).
"""
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from peewee import CharField, DateTimeField, ForeignKeyField

from models.base import BaseModel, WithPermissions
from models.node import naive_utc_now
from models.user import User

PREFIX = "pfk_"
KEY = re.compile(r"pfk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(BaseModel, WithPermissions):
    name = CharField(max_length=50, unique=True)
    user = ForeignKeyField(User, backref="api_keys", on_delete="CASCADE")
    lookup = CharField(max_length=16, unique=True)
    secret_digest = CharField(max_length=64)
    created_at = DateTimeField(default=naive_utc_now)
    expires_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "api_key"

    @classmethod
    def make(cls, name: str, user: User, permissions, expires_at: datetime | None) -> tuple["ApiKey", str]:
        """A new key row and the key itself (to be shown once: it is not stored)."""
        lookup = secrets.token_hex(8)
        key = f"{PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        row = cls(name=name, user=user, lookup=lookup, secret_digest=digest(key), expires_at=expires_at)
        row.permissions = permissions
        row.save()
        return row, key

    @classmethod
    def by_key(cls, key: str) -> "ApiKey | None":
        """The row of a well-formed key whose digest matches, whatever its state; None otherwise."""
        match = KEY.fullmatch(key)
        if match is None:
            return None
        row = cls.get_or_none(cls.lookup == match.group(1))
        if row is None or not hmac.compare_digest(row.secret_digest, digest(key)):
            return None
        return row

    def standing(self, now: datetime) -> str | None:
        """Why the key can no longer be used at `now` (naive UTC), or None."""
        return key_standing(self.revoked_at, self.expires_at, now)


def key_standing(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str | None:
    """Why a key revoked and expiring at these times (naive UTC) cannot be used at `now`, or None."""
    if revoked_at is not None:
        return "The API key has been revoked."
    if expires_at is not None and expires_at <= now:
        return "The API key has expired."
    return None
