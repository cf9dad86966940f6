"""The order the suite runs in, and how `make test` shares it among its workers (pytest-xdist).

A session-scoped parametrized fixture (`database_url`, and the database, data and read model built on it) is
kept for one parameter at a time: every switch between SQLite and PostgreSQL tears one down and builds the
other (about 4 s each). So tests are ordered by database, and each worker is given a module's tests on one
database at a time, all SQLite ones before PostgreSQL ones.
"""
import re

import pytest


def database_of(item) -> str | None:
    """The database a test runs on (the `database_url` parameter), or None for a test that needs none."""
    return getattr(item, "callspec", None) and item.callspec.params.get("database_url")


def pytest_collection_modifyitems(items):
    """Every SQLite test, then every PostgreSQL test, then those that need no database: each switch tears the
    session's database down and builds the other (pytest keeps one parameter of a fixture at a time). Within
    each, a module with a `long` test goes first, so that no worker of `make test` runs it alone at the end."""
    ranks = {"sqlite": 0, "postgresql": 1, None: 2}
    items.sort(key=lambda item: (ranks[database_of(item)], not item.get_closest_marker("long")))


class ModuleAndDatabaseScheduling:
    """pytest-xdist (`make test` runs a worker per core): a unit of work is a module's tests on one database,
    handed out in the order above, so that a worker runs all its SQLite units, then its PostgreSQL ones, and
    sets up each database once (xdist's `loadscope` hands out whole modules, switching at every one). The
    controller knows node ids only, hence the parameter read from the id; `_split_scope` is loadscope's own
    seam for this (pytest-xdist is pinned)."""

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config, log):
        from xdist.scheduler import LoadScopeScheduling

        class Scheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                module, _, rest = nodeid.partition("::")
                kind = re.search(r"\[(?:[^\]]*-)?(sqlite|postgresql)(?:-[^\]]*)?\]$", rest)
                return f"{module}[{kind[1]}]" if kind else module

        config.option.loadscopereorder = False  # the order above, not the most tests first
        return Scheduling(config, log)


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(ModuleAndDatabaseScheduling())
