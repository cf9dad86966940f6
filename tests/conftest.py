"""Fixtures: the whole suite runs once on SQLite and, when TEST_DATABASE_URL is set, again on PostgreSQL.

Each backend gets a fresh database, migrated and seeded with the real reference data once.
Nodes are written by the tests that need them and removed after every test.
"""
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import settings

from app import create_app, make_read_model
from commands.migrate import migrate
from commands.seed import seed
from config import Config
from models import ApiKey, LoginFailure, Node, User, connect_database, dating
from models.database import open_database
from models.node_writes import NodeRow, upsert_nodes
from security.tokens import TokenService
from tests.contract import ContractClient
from tests.data import (BERLIN, FRESHNESS, JWT_SECRET, LONDON, LOS_ANGELES, MANCHESTER, NEW_YORK, PARIS, SYDNEY, TOKYO,
                        make_user, throwaway_postgres)

# Hypothesis: every property's examples in CI, a fifth of them elsewhere (tests.helpers.examples scales them).
settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

pytest_plugins = ["tests.scheduling"]  # the order tests run in, and what each worker of `make test` runs

POSTGRES_SKIP = "PostgreSQL skipped: set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run it"

@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'perfops.sqlite3'}"
        return
    base_url = os.environ.get("TEST_DATABASE_URL")
    if not base_url:
        pytest.skip(POSTGRES_SKIP)
    yield from throwaway_postgres(base_url)


class FakeClock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc))


class WallClock:
    """Seconds since the epoch, standing still until the test moves them."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall_clock(monkeypatch):
    """The time the data's dates are compared with (models/dating.py): now, until the test moves it."""
    moved = WallClock(time.time())
    monkeypatch.setattr(dating, "wall_clock", moved)
    return moved


@pytest.fixture
def throwaway_url(database_url, tmp_path):
    """A database of the run's kind, empty, that a test's live server may change freely."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/throwaway.sqlite3"
    else:
        yield from throwaway_postgres(os.environ["TEST_DATABASE_URL"])


@pytest.fixture(scope="session")
def config(database_url):
    # data_freshness=0: every request re-reads the data version, so a test sees its own writes at once.
    # (The freshness bound itself is tested in test_freshness.py.)
    return Config(database_url=database_url, db_pool_size=8, jwt_secret=JWT_SECRET, data_freshness=0.0)


@pytest.fixture(scope="session")
def db(config):
    """The backend's database, migrated and seeded once for the session."""
    database = connect_database(config, open_database(config))
    migrate()
    seed(report=lambda *_: None)
    yield database
    database.close_all() if hasattr(database, "close_all") else database.close()


@pytest.fixture(scope="session")
def read_model(db):
    """The session's read model: built before the first test, then kept current by the requests (with
    freshness 0, each request looks at the data version itself, so a test sees its own writes at once)."""
    model = make_read_model(Config(data_freshness=0.0))
    model.refresh()
    yield model
    model.stop()


@pytest.fixture
def session_snapshot(read_model):
    """The session read model's snapshot: a read model a test makes starts from it (`start_from`), keeping its
    reference tables (1.3 s to build) and catching up its nodes, as a worker's next snapshot starts from its last."""
    return read_model.current()


@pytest.fixture
def app(config, db, clock, read_model):
    return create_app(config, db=db, clock=clock, read_model=read_model)


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def token(config, clock, user):
    return TokenService(config, clock).issue(user, auth_time=int(clock().timestamp())).token


@pytest.fixture
def anonymous(app):
    """A client without credentials."""
    return ContractClient(app)


@pytest.fixture
def client(app, token):
    """A client sending a valid bearer token with every request, as an API client would."""
    return ContractClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def writer(app, config, clock):
    """A client whose token may write nodes."""
    user = make_user("writer@example.com", permissions=["nodes:write"])
    token = TokenService(config, clock).issue(user, auth_time=int(clock().timestamp())).token
    return ContractClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(autouse=True)
def nothing_left_behind(request):
    """Each test's rows are removed after it; a module marked `keeps_rows` builds its rows once, in
    module-scoped fixtures that remove them at the end."""
    yield
    if "db" in request.fixturenames and not request.node.get_closest_marker("keeps_rows"):
        Node.delete().execute()
        ApiKey.delete().execute()
        User.delete().execute()
        LoginFailure.delete().execute()


def node_rows():
    """A small, varied set: several countries, cities, ASNs, IPv4 and IPv6."""
    places = [LONDON, MANCHESTER, PARIS, BERLIN, NEW_YORK, LOS_ANGELES, TOKYO, SYDNEY]
    rows = []
    for index in range(40):
        city = places[index % len(places)]
        ip = f"192.0.2.{index + 1}" if index % 4 else f"2001:db8::{index + 1:x}"
        rows.append(NodeRow(line=index + 1, ip=ip, city=city, asn=64496 + index % 3,
                            network=f"Example Network {index % 3}"))
    return rows


@pytest.fixture
def nodes(db):
    upsert_nodes(node_rows())
    return list(Node.select().order_by(Node.id))


def pytest_terminal_summary(terminalreporter):
    if not os.environ.get("TEST_DATABASE_URL"):
        terminalreporter.write_line(POSTGRES_SKIP, yellow=True)


@pytest.fixture
def other_app(db):
    """Builds apps with their own configuration; the models are pointed back at the test database after."""
    apps = []

    def build(config, **kwargs):
        kwargs.setdefault("read_model", None)  # its refresher would outlive the test
        apps.append(create_app(config, **kwargs))
        return ContractClient(apps[-1])

    yield build
    connect_database(None, db)


@pytest.fixture
def remembering_app(other_app, config, clock, db):
    """An app whose protected reads may use what it learnt about an account or key for FRESHNESS seconds."""
    return other_app(Config(database_url=config.database_url, jwt_secret=JWT_SECRET, data_freshness=FRESHNESS),
                     db=db, clock=clock)
