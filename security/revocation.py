"""Whether the account behind a token still stands behind it (contract §12): it exists, is active, and its token
version is the one the token was issued at (`setpassword`, `disable` and `otp on|off` move it).

A write asks the database every time (one small query beside the write's own). A protected read takes what
this worker learnt about the account within the last `freshness` seconds: one query per account and
worker per `freshness`, not one per read. Bounded: the oldest entries go first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from models import User

ACCOUNTS = 10_000


class Revocations:
    def __init__(self, freshness: float, now: Callable[[], float]):
        self.freshness = freshness
        self.now = now  # seconds, from the service's injectable clock
        self._accounts: OrderedDict[int, tuple[float, bool, int]] = OrderedDict()  # id -> (when, active, version)
        self._lock = threading.Lock()

    def reason(self, claims: dict, at_once: bool) -> str | None:
        """Why the token no longer stands, or None. `at_once`: ask the database now (a write)."""
        user_id = int(claims["sub"])
        now = self.now()
        known = None if at_once else self._accounts.get(user_id)
        if known is None or now - known[0] >= self.freshness:
            row = User.select(User.active, User.token_version).where(User.id == user_id).tuples().first()
            known = (now, *(row if row is not None else (False, -1)))
            with self._lock:
                self._accounts[user_id] = known
                self._accounts.move_to_end(user_id)
                while len(self._accounts) > ACCOUNTS:
                    self._accounts.popitem(last=False)
        _, active, version = known
        if not active:
            return "The account no longer exists or is disabled."
        if version != claims["ver"]:
            return "The token has been revoked; log in again."
        return None
