"""Which database the models talk to, chosen by DATABASE_URL."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase

from config import DEFAULT_SQLITE_PATH, Config

# Models bind to this proxy; `connect_database` points it at the real database.
database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never wait for the writer
    "foreign_keys": 1,
    "synchronous": "normal",  # durable across application crashes; WAL keeps it consistent
    "cache_size": -2000,  # 16 MiB page cache per connection
}
POSTGRES_SCHEMES = {"postgres", "postgresql"}


def open_database(config: Config) -> Database:
    """Build (without connecting) the database that DATABASE_URL names."""
    url = config.database_url
    if not url:
        return _sqlite(DEFAULT_SQLITE_PATH)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:] or ":memory:"  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
        elif path.startswith("//"):
            path = path[1:]
        return _sqlite(Path(path) if path != ":memory:" else path)
    if scheme in POSTGRES_SCHEMES:
        params = parse_url(url)
        name = params.pop("database")
        params.setdefault("connect_timeout", config.db_connect_timeout)
        if config.db_statement_timeout:
            timeout = f"-c statement_timeout={config.db_statement_timeout}"
            params["options"] = f"{params['options']} {timeout}" if params.get("options") else timeout
        return PooledPostgresqlDatabase(
            name,
            max_connections=config.db_pool_size,
            timeout=config.db_pool_timeout,
            stale_timeout=300,
            **params,
        )
    raise ValueError(f"DATABASE_URL scheme {scheme!r} is not supported: use postgresql:// or sqlite://")


def _sqlite(path) -> SqliteDatabase:
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path = str(path)
    # timeout: how long a writer waits for another writer's lock before "database is locked".
    return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=5, check_same_thread=False)


def connect_database(config: Config, db: Database | None = None) -> Database:
    """Point the models at `db`, or at the database the configuration names."""
    db = open_database(config) if db is None else db
    database.initialize(db)
    return db


def is_postgres(db=None) -> bool:
    db = database.obj if db is None else db
    return isinstance(db, PostgresqlDatabase)


def releases_per_request(db=None) -> bool:
    """Pooled connections go back after each request; a SQLite connection stays with its thread,

    since reopening it re-runs the PRAGMAs and halves throughput.
    """
    db = database.obj if db is None else db
    return isinstance(db, PooledPostgresqlDatabase)


def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock at BEGIN (IMMEDIATE): a transaction
    that reads first and writes later fails at once ("database is locked") if another writer committed in
    between, whatever the busy timeout; waiting for the lock up front lets concurrent writers queue."""
    return database.atomic("IMMEDIATE") if isinstance(database.obj, SqliteDatabase) else database.atomic()
