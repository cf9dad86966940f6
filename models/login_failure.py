"""Failed logins, counted in the database so that every worker and instance sees the same count.

An attempt is written down before the password is checked (and struck off if it succeeds): concurrent
attempts then each see the others, so no more than the limit get through, however many race. Rows older
than the window are purged as failures are recorded, so the table holds at most one window of failures.
"""
from peewee import DoubleField, TextField

from models.base import BaseModel


class LoginFailure(BaseModel):
    # "user:<address> <folded name>" (a user, tried from one address) or "address:<ip>"
    key = TextField()
    at = DoubleField()  # seconds since the epoch

    class Meta:
        table_name = "login_failure"
        indexes = ((("key", "at"), False),)


def record_attempt(keys, now: float) -> list[int]:
    """Counts an attempt against each key at once; the ids strike it off again if it succeeds."""
    return [LoginFailure.insert(key=key, at=now).execute() for key in keys]


def seconds_throttled(key: str, limit: int, window: float, now: float) -> float:
    """0 if the attempt just recorded for `key` is within `limit`; otherwise how long until it would be."""
    recent = [at for (at,) in LoginFailure.select(LoginFailure.at)
              .where((LoginFailure.key == key) & (LoginFailure.at > now - window))
              .order_by(LoginFailure.at.desc(), LoginFailure.id.desc()).limit(limit + 1).tuples()]
    if len(recent) <= limit:
        return 0.0
    # This attempt is one of them: the count falls to the limit when the oldest of the others expires.
    return max(recent[-1] + window - now, 0.0)


def strike_off(attempts: list[int]) -> None:
    LoginFailure.delete().where(LoginFailure.id.in_(attempts)).execute()


def purge_expired(now: float, window: float) -> None:
    LoginFailure.delete().where(LoginFailure.at <= now - window).execute()


def clear_failures(key: str) -> None:
    LoginFailure.delete().where(LoginFailure.key == key).execute()
