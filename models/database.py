"""Which database the models talk to, chosen by DATABASE_URL (validated by config/)."""
from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase, __exception_wrapper__
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase

from config import DEFAULT_SQLITE_PATH, Config
from models import dating

# Models bind to this proxy; `connect_database` points it at the real database.
database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never wait for the writer
    "foreign_keys": 1,
    "synchronous": "normal",  # durable across application crashes; WAL keeps it consistent
    "cache_size": -2000,  # SQLite's default 2 MB page cache per connection
}


class PostgresDatabase(PooledPostgresqlDatabase):
    """Pooled PostgreSQL connections whose every statement runs under the statement timeout.

    The timeout is set with `SET LOCAL` inside the statement's own transaction: right after `BEGIN`, or, for
    a statement outside a transaction, sent in the same message (`SET LOCAL ...; SELECT ...`, which PostgreSQL
    runs as one implicit transaction). Not as the startup parameter `options`, which PgBouncer refuses, nor as
    a session `SET`, which a transaction-pooling proxy would leave on a server connection other clients get.
    """

    def __init__(self, database, statement_timeout: int = 0, **kwargs):
        self.statement_timeout = int(statement_timeout)
        self._timeout_sql = f"SET LOCAL statement_timeout = {self.statement_timeout}; "
        super().__init__(database, **kwargs)

    def begin(self, isolation_level=None):
        statement = f"BEGIN ISOLATION LEVEL {isolation_level}" if isolation_level else "BEGIN"
        if self.statement_timeout:
            statement = f"{statement}; {self._timeout_sql}"
        with __exception_wrapper__:  # the driver's errors as peewee's, as peewee's own begin() does
            self.cursor().execute(statement)

    def execute_sql(self, sql, params=None):
        if self.statement_timeout and not self.in_transaction():
            sql = self._timeout_sql + sql
        return super().execute_sql(sql, params)


def open_database(config: Config) -> Database:
    """Build (without connecting) the database that DATABASE_URL names."""
    url = config.database_url
    if not url:
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)  # var/, for `make run`
        return _sqlite(str(DEFAULT_SQLITE_PATH))
    params = parse_url(url)
    name = params.pop("database")
    if urlsplit(url).scheme.lower() == "sqlite":
        return _sqlite(name)  # a folder that is not there is the operator's to make: an error, not a guess
    params.setdefault("connect_timeout", config.db_connect_timeout)
    return PostgresDatabase(
        name,
        statement_timeout=config.db_statement_timeout,
        max_connections=config.db_pool_size,
        timeout=config.db_pool_timeout,
        stale_timeout=300,
        **params,
    )


def _sqlite(path: str) -> SqliteDatabase:
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


class write_transaction:
    """A transaction that will write the served data, one writer at a time; `version` is the data version it
    committed (the outermost one reads it just before committing).

    SQLite: the write lock is taken at BEGIN (IMMEDIATE); a transaction that reads first and writes later would
    fail at once ("database is locked") if another writer committed in between, whatever the busy timeout.
    PostgreSQL: the data_version row is locked first, so writers queue there instead of reading rows another
    writer is about to change (under READ COMMITTED two importers would each skip rows they believe unchanged
    and leave a mix of both files), and the versions the change log records follow commit order.
    """

    version: int | None = None

    def __enter__(self):
        db = database.obj
        self._atomic = db.atomic("IMMEDIATE") if isinstance(db, SqliteDatabase) else db.atomic()
        self._atomic.__enter__()
        # From here on a failure must end the transaction: one left on the thread's transaction stack makes
        # every later close() refuse, and that thread answers 503 until the worker is restarted.
        with self._ended_on_failure():
            if isinstance(db, PostgresqlDatabase):
                db.execute_sql("SELECT version FROM data_version WHERE id = 1 FOR UPDATE")
            self._started = dating.wall_clock()
        return self

    def __exit__(self, exc_type, *exc_info):
        if exc_type is None and database.obj.transaction_depth() == 1:
            with self._ended_on_failure():
                self._dated_at_commit()
                self.version = database.execute_sql("SELECT version FROM data_version WHERE id = 1").fetchone()[0]
        return self._atomic.__exit__(exc_type, *exc_info)

    @contextlib.contextmanager
    def _ended_on_failure(self):
        try:
            yield
        except BaseException as error:
            self._atomic.__exit__(type(error), error, error.__traceback__)  # rolls back, or at least pops
            raise

    def _dated_at_commit(self) -> None:
        """A transaction that ran long dates node lists at its commit: its rows carry earlier times, which a
        client may already have been told are settled (models/dating.py)."""
        now = dating.wall_clock()
        if now - self._started > dating.COMMIT_MARGIN / 2:  # the other half is for the commit itself
            param = database.param
            database.execute_sql(f"UPDATE data_version SET nodes_removed_at = {param} "
                                 f"WHERE id = 1 AND nodes_removed_at < {param}", (int(now), int(now)))
