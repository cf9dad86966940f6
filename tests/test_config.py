import pytest
from peewee import SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from config import DEFAULT_SQLITE_PATH, Config, ConfigError
from models.database import open_database


def test_defaults_from_an_empty_environment():
    config = Config.from_env({})
    assert (config.database_url, config.port, config.web_concurrency) == (None, 8000, 2)


def test_values_from_the_environment():
    config = Config.from_env({"PORT": "5000", "WEB_CONCURRENCY": "3", "DATABASE_URL": " postgres://u@h/d ",
                              "TRUSTED_PROXY_HOPS": "1"})
    assert (config.port, config.web_concurrency, config.database_url, config.trusted_proxy_hops) == (
        5000, 3, "postgres://u@h/d", 1)


@pytest.mark.parametrize("env", [{"PORT": "eighty"}, {"PORT": "0"}, {"WEB_CONCURRENCY": "-1"},
                                 {"DB_POOL_TIMEOUT": "x"}])
def test_bad_values_refuse_to_start(env):
    with pytest.raises(ConfigError):
        Config.from_env(env)


def test_sqlite_is_the_default():
    db = open_database(Config())
    assert isinstance(db, SqliteDatabase) and db.database == str(DEFAULT_SQLITE_PATH)


@pytest.mark.parametrize("url", ["postgres://user:pw@db.example:6543/perf?sslmode=require",
                                 "postgresql://user:pw@db.example:6543/perf?sslmode=require"])
def test_both_postgres_schemes_make_a_pool_with_short_timeouts(url):
    db = open_database(Config(database_url=url, db_pool_size=3, db_pool_timeout=1.5, db_connect_timeout=2))
    assert isinstance(db, PooledPostgresqlDatabase)
    assert db.database == "perf" and db._max_connections == 3 and db._wait_timeout == 1.5
    assert db.connect_params["sslmode"] == "require" and db.connect_params["connect_timeout"] == 2
    assert (db.connect_params["host"], db.connect_params["port"], db.connect_params["user"]) == ("db.example", 6543, "user")


def test_sqlite_urls(tmp_path):
    assert open_database(Config(database_url=f"sqlite:///{tmp_path}/x.db")).database == f"{tmp_path}/x.db"
    assert open_database(Config(database_url="sqlite:///:memory:")).database == ":memory:"


def test_an_unknown_scheme_is_refused():
    with pytest.raises(ValueError):
        open_database(Config(database_url="mysql://x/y"))


def test_a_short_jwt_secret_refuses_to_start():
    with pytest.raises(ConfigError):
        Config.from_env({"JWT_SECRET": "too-short"})
    with pytest.raises(ConfigError):
        Config.from_env({"JWT_ALGORITHM": "none"})
    with pytest.raises(ConfigError):
        Config.from_env({"JWT_SECRET": "x" * 32, "JWT_ALGORITHM": "HS512"})
    assert Config.from_env({"JWT_SECRET": "x" * 32}).jwt_secret == "x" * 32
