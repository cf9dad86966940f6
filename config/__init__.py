"""The service's configuration, read from the environment once.

Each setting is declared once below: its environment variable, default and bounds. Tests build their own
``Config`` instead of touching ``os.environ``.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "perfops.sqlite3"
API_VERSION = "1.0.0"
# RFC 7518 §3.2: an HMAC key at least as long as the hash's output.
MIN_JWT_SECRET_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite")


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot run with."""


def _integer(raw: str) -> int:
    return int(raw, 10)


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError
    return raw == "1"


def _text(raw: str) -> str:
    return raw


def _database_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme.lower() not in DATABASE_SCHEMES:
        raise ConfigError("DATABASE_URL must be a postgresql://, postgres:// or sqlite:/// URL, "
                          f"not {parts.scheme + '://' if parts.scheme else repr(raw[:40])}")
    name = parts.path.lstrip("/") if parts.scheme.lower() != "sqlite" else parts.path[1:]
    if not name:
        raise ConfigError("DATABASE_URL names no database (sqlite:///relative.db, sqlite:////absolute.db, "
                          "postgresql://user@host:5432/name)")
    try:
        parts.port  # noqa: B018  (raises for a port that is not a number)
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a number") from None
    return raw


def _host(raw: str) -> str:
    ipaddress.ip_address(raw)  # an address to bind to, not a name to resolve
    return raw


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and "://" not in origin:
            raise ConfigError(f"CORS_ORIGINS holds {origin!r}; give origins like https://app.example.com")
    return origins


def setting(default, env: str, parse=_integer, low=None, high=None, strip=True):
    """A configuration field read from `env` (unset or blank: `default`); numbers outside [low, high] are
    refused; `strip=False` keeps surrounding spaces (a secret is taken as given)."""
    return field(default=default, metadata={"env": env, "parse": parse, "low": low, "high": high, "strip": strip})


def _read(spec: dict, raw: str):
    name, parse, low, high = spec["env"], spec["parse"], spec["low"], spec["high"]
    try:
        value = parse(raw)
    except ConfigError:
        raise
    except ValueError:
        kinds = {_integer: "an integer", float: "a number", _flag: "0 or 1", _host: "an IP address"}
        raise ConfigError(f"{name} must be {kinds.get(parse, 'valid')}, got {raw!r}") from None
    if low is not None and not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Config:
    # None means the embedded SQLite file at DEFAULT_SQLITE_PATH.
    database_url: str | None = setting(None, "DATABASE_URL", _database_url)
    # The address and port gunicorn binds; 127.0.0.1 keeps the service off other hosts.
    host: str = setting("0.0.0.0", "HOST", _host)
    port: int = setting(8000, "PORT", _integer, 1, 65535)
    web_concurrency: int = setting(2, "WEB_CONCURRENCY", _integer, 1, 64)
    # Connections one worker process may hold (PostgreSQL); one per worker thread is enough.
    db_pool_size: int = setting(4, "DB_POOL_SIZE", _integer, 1, 100)
    # Seconds to wait for a free pooled connection, and for PostgreSQL to accept one.
    db_pool_timeout: float = setting(2.0, "DB_POOL_TIMEOUT", float, 0.1, 30.0)
    db_connect_timeout: int = setting(2, "DB_CONNECT_TIMEOUT", _integer, 1, 30)
    # Milliseconds a query may run on PostgreSQL before the server cancels it (0: no limit).
    db_statement_timeout: int = setting(5000, "DB_STATEMENT_TIMEOUT", _integer, 0, 3_600_000)
    # Seconds a client is told to wait when the database is unavailable.
    retry_after: int = setting(5, "RETRY_AFTER", _integer, 1, 3600)
    # Reverse proxies in front of the service whose X-Forwarded-For is believed (Heroku's router: 1).
    trusted_proxy_hops: int = setting(0, "TRUSTED_PROXY_HOPS", _integer, 0, 10)
    max_body_bytes: int = 64 * 1024
    # Lists and records are served from a per-worker in-memory read model (readmodel/); 0 serves every read
    # from the database.
    read_model: bool = setting(True, "READ_MODEL", _flag)
    # Rendered GET responses kept per worker, all overhead counted (bytes; 0: none).
    response_cache_bytes: int = setting(4 * 1024 * 1024, "RESPONSE_CACHE_BYTES", _integer, 0, 2**34)
    # Seconds within which a change made anywhere is served by every worker.
    data_freshness: float = setting(1.0, "DATA_FRESHNESS", float, 0.0, 10.0)
    # Seconds a shared cache (a CDN, nginx proxy_cache) may serve an anonymous read without asking (0: it
    # revalidates every time), and may serve it stale while the service answers errors or not at all.
    shared_cache_seconds: int = setting(1, "SHARED_CACHE_SECONDS", _integer, 0, 86400)
    stale_if_error_seconds: int = setting(86400, "STALE_IF_ERROR_SECONDS", _integer, 0, 30 * 86400)
    # gzip bodies kept per worker, by the ETag of what they code (bytes): a body is compressed once while kept.
    # The whole lists' gzip forms are in the instance's list files (readmodel/list_files.py), not here; with
    # READ_MODEL=0 the whole address list of 1,000,000 nodes gzips to 8.6 MB and needs 16 MiB to be kept.
    coded_cache_bytes: int = setting(8 * 1024 * 1024, "CODED_CACHE_BYTES", _integer, 0, 2**34)
    # One JSON access line per request; off where the platform's router logs requests already.
    access_log: bool = setting(True, "ACCESS_LOG", _flag)
    # Origins allowed to call the API from a browser; empty: CORS off.
    cors_origins: tuple[str, ...] = setting((), "CORS_ORIGINS", _origins)
    # The bearer token GET /metrics asks for (Prometheus's `authorization` credentials); unset: no /metrics,
    # and nothing is recorded.
    metrics_token: str | None = setting(None, "METRICS_TOKEN", _text, strip=False)
    version: str = API_VERSION
    # None: a secret generated once and kept in the database, shared by every worker and instance.
    jwt_secret: str | None = setting(None, "JWT_SECRET", _text, strip=False)
    jwt_algorithm: str = setting("HS256", "JWT_ALGORITHM", _text)
    jwt_ttl: int = setting(900, "JWT_TTL", _integer, 30, 86400)  # seconds a token is valid
    # Seconds from the password login after which refresh stops.
    session_max_age: int = setting(86400, "SESSION_MAX_AGE", _integer, 60, 90 * 86400)
    # Failed logins counted within the window; past either limit, /auth answers 429.
    login_window: int = setting(900, "LOGIN_WINDOW", _integer, 10, 86400)
    login_failures_per_username: int = setting(5, "LOGIN_FAILURES_PER_USERNAME", _integer, 1, 1000)
    login_failures_per_address: int = setting(20, "LOGIN_FAILURES_PER_ADDRESS", _integer, 1, 100000)

    def __post_init__(self):
        if self.database_url is not None:
            _database_url(self.database_url)
        if self.jwt_algorithm not in MIN_JWT_SECRET_BYTES:
            raise ConfigError(f"JWT_ALGORITHM must be one of {', '.join(MIN_JWT_SECRET_BYTES)}")
        needed = MIN_JWT_SECRET_BYTES[self.jwt_algorithm]
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < needed:
            raise ConfigError(f"JWT_SECRET must be at least {needed} bytes for {self.jwt_algorithm}")

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        values = {}
        for declared in fields(cls):
            spec = declared.metadata
            raw = env.get(spec["env"], "") if "env" in spec else ""
            if raw.strip():
                values[declared.name] = _read(spec, raw.strip() if spec["strip"] else raw)
        return cls(**values)
