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
# RFC 7518 §3.2: an HMAC key at least as long as the hash's output.
MIN_JWT_SECRET_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}


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


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and "://" not in origin:
            raise ConfigError(f"CORS_ORIGINS holds {origin!r}; give origins like https://app.example.com")
    return origins


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
    # Milliseconds a query may run on PostgreSQL before the server cancels it (0: no limit).
    db_statement_timeout: int = 5000
    # Seconds a client is told to wait when the database is unavailable.
    retry_after: int = 5
    # Reverse proxies in front of the service whose X-Forwarded-For is believed (Heroku's router: 1).
    trusted_proxy_hops: int = 0
    max_body_bytes: int = 64 * 1024
    # Rendered GET responses kept per worker (bytes; 0: none), and how stale the data version they are
    # checked against may be (seconds): the bound on how late a change is served.
    response_cache_bytes: int = 32 * 1024 * 1024
    data_freshness: float = 0.5
    # One JSON access line per request; off where the platform's router logs requests already.
    access_log: bool = True
    # Origins allowed to call the API from a browser; empty: CORS off.
    cors_origins: tuple[str, ...] = ()
    version: str = API_VERSION
    # None: a secret generated once and kept in the database, shared by every worker and instance.
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_ttl: int = 900  # seconds a token is valid
    session_max_age: int = 86400  # seconds from the password login after which refresh stops
    # Failed logins counted within the window; past either limit, /auth answers 429.
    login_window: int = 900
    login_failures_per_username: int = 5
    login_failures_per_address: int = 20

    def __post_init__(self):
        if self.jwt_algorithm not in MIN_JWT_SECRET_BYTES:
            raise ConfigError(f"JWT_ALGORITHM must be one of {', '.join(MIN_JWT_SECRET_BYTES)}")
        needed = MIN_JWT_SECRET_BYTES[self.jwt_algorithm]
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < needed:
            raise ConfigError(f"JWT_SECRET must be at least {needed} bytes for {self.jwt_algorithm}")

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
            db_statement_timeout=_number(env, "DB_STATEMENT_TIMEOUT", 5000, 0, 3_600_000),
            retry_after=_number(env, "RETRY_AFTER", 5, 1, 3600),
            trusted_proxy_hops=_number(env, "TRUSTED_PROXY_HOPS", 0, 0, 10),
            cors_origins=_origins(env.get("CORS_ORIGINS", "")),
            access_log=_number(env, "ACCESS_LOG", 1, 0, 1) == 1,
            response_cache_bytes=_number(env, "RESPONSE_CACHE_BYTES", 32 * 1024 * 1024, 0, 2**34),
            data_freshness=_number(env, "DATA_FRESHNESS", 0.5, 0.0, 1.0, float),
            jwt_secret=env.get("JWT_SECRET") or None,
            jwt_algorithm=env.get("JWT_ALGORITHM", "").strip() or "HS256",
            jwt_ttl=_number(env, "JWT_TTL", 900, 30, 86400),
            session_max_age=_number(env, "SESSION_MAX_AGE", 86400, 60, 90 * 86400),
            login_window=_number(env, "LOGIN_WINDOW", 900, 10, 86400),
            login_failures_per_username=_number(env, "LOGIN_FAILURES_PER_USERNAME", 5, 1, 1000),
            login_failures_per_address=_number(env, "LOGIN_FAILURES_PER_ADDRESS", 20, 1, 100000),
        )
