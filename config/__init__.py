"""The service's configuration, read from the environment once.

Tests build their own ``Config`` instead of touching ``os.environ``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "perfops.sqlite3"
API_VERSION = "1.0.0"


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _number(environ, name: str, default, low, high, parse=int):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        kind = "an integer" if parse is int else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Config:
    # None means the embedded SQLite file at DEFAULT_SQLITE_PATH.
    database_url: str | None = None
    port: int = 8000
    web_concurrency: int = 2
    # Connections one worker process may hold (PostgreSQL); one per worker thread is enough.
    db_pool_size: int = 4
    # Seconds to wait for a free pooled connection, and for PostgreSQL to accept one.
    db_pool_timeout: float = 2.0
    db_connect_timeout: int = 2
    # Seconds a client is told to wait when the database is unavailable.
    retry_after: int = 5
    # Reverse proxies in front of the service whose X-Forwarded-For is believed (Heroku's router: 1).
    trusted_proxy_hops: int = 0
    max_body_bytes: int = 64 * 1024
    version: str = API_VERSION

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or None,
            port=_number(env, "PORT", 8000, 1, 65535),
            web_concurrency=_number(env, "WEB_CONCURRENCY", 2, 1, 64),
            db_pool_size=_number(env, "DB_POOL_SIZE", 4, 1, 100),
            db_pool_timeout=_number(env, "DB_POOL_TIMEOUT", 2.0, 0.1, 30.0, float),
            db_connect_timeout=_number(env, "DB_CONNECT_TIMEOUT", 2, 1, 30),
            retry_after=_number(env, "RETRY_AFTER", 5, 1, 3600),
            trusted_proxy_hops=_number(env, "TRUSTED_PROXY_HOPS", 0, 0, 10),
        )
