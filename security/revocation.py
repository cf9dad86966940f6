"""Whether what a token was issued on still stands (contract §12): the account exists, is active, and its token
version is the one the token was issued at (`setpassword`, `disable` and `otp on|off` move it); for a token
exchanged for an API key, the key is neither revoked nor expired (`revokekey`).

A write asks the database every time (one small query beside the write's own, two for a key's token). A
protected read takes what this worker learnt about the account (and key) within the last `freshness` seconds:
one query per account or key and worker per `freshness`, not one per read. Bounded: the oldest entries go first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable

from models import ApiKey, User
from models.api_key import key_standing

REMEMBERED = 10_000  # accounts and keys, each


class Remembered:
    """What the database said about each of a bounded number of rows, and when (seconds)."""

    def __init__(self, load: Callable[[int], tuple]):
        self.load = load
        self._rows: OrderedDict[int, tuple[float, tuple]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, row_id: int, now: float, freshness: float, at_once: bool) -> tuple:
        known = None if at_once else self._rows.get(row_id)
        if known is None or now - known[0] >= freshness:
            known = (now, self.load(row_id))
            with self._lock:
                self._rows[row_id] = known
                self._rows.move_to_end(row_id)
                while len(self._rows) > REMEMBERED:
                    self._rows.popitem(last=False)
        return known[1]


def _account(user_id: int) -> tuple:
    row = User.select(User.active, User.token_version).where(User.id == user_id).tuples().first()
    return row if row is not None else (False, -1)


def _key(key_id: int) -> tuple:
    row = ApiKey.select(ApiKey.revoked_at, ApiKey.expires_at).where(ApiKey.id == key_id).tuples().first()
    return row if row is not None else (datetime.min, None)  # a key that is gone counts as revoked


class Revocations:
    def __init__(self, freshness: float, now: Callable[[], float]):
        self.freshness = freshness
        self.now = now  # seconds, from the service's injectable clock
        self._accounts = Remembered(_account)
        self._keys = Remembered(_key)

    def reason(self, claims: dict, at_once: bool) -> str | None:
        """Why the token no longer stands, or None. `at_once`: ask the database now (a write)."""
        now = self.now()
        active, version = self._accounts.get(int(claims["sub"]), now, self.freshness, at_once)
        if not active:
            return "The account no longer exists or is disabled."
        if version != claims["ver"]:
            return "The token has been revoked; log in again."
        if "key_id" in claims:
            revoked_at, expires_at = self._keys.get(claims["key_id"], now, self.freshness, at_once)
            return key_standing(revoked_at, expires_at, datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None))
        return None
