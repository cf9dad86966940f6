"""Failed logins, counted in the database so that every worker and instance sees the same count."""
from peewee import DoubleField, TextField

from models.base import BaseModel


class LoginFailure(BaseModel):
    # "username:<folded name>" or "address:<ip>"
    key = TextField()
    at = DoubleField()  # seconds since the epoch

    class Meta:
        table_name = "login_failure"
        indexes = ((("key", "at"), False),)


def seconds_throttled(key: str, limit: int, window: float, now: float) -> float:
    """0 if `key` may try again; otherwise how long until its count within the window drops below `limit`."""
    recent = [at for (at,) in LoginFailure.select(LoginFailure.at)
              .where((LoginFailure.key == key) & (LoginFailure.at > now - window))
              .order_by(LoginFailure.at.desc()).limit(limit).tuples()]
    if len(recent) < limit:
        return 0.0
    # The limit-th most recent failure is the one whose expiry lets the count fall below the limit.
    return max(recent[-1] + window - now, 0.0)


def record_failure(keys, now: float, window: float) -> None:
    LoginFailure.insert_many([{"key": key, "at": now} for key in keys]).execute()
    LoginFailure.delete().where(LoginFailure.key.in_(list(keys)) & (LoginFailure.at <= now - window)).execute()


def clear_failures(key: str) -> None:
    LoginFailure.delete().where(LoginFailure.key == key).execute()
