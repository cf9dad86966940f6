"""The read model gives exactly the answers the database gives: the same keys in the same order, the same
totals, the same bytes, the same Last-Modified, for any filter, radius, ordering, direction and page, and it stays
so after any sequence of changes caught up from the change log.
"""
import random

import orjson

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import LISTS
from models import City, Node
from models.data_version import read_versions
from models.database import database
from models.distance import Near
from models.node_writes import NodeRow, upsert_nodes
from readmodel.snapshot import load_snapshot
from resources.list_query import ListQuery
from resources.representations import page_from_database, page_from_memory
from tests.helpers import examples, memory_text
from tests.data import BERLIN, LONDON, LOS_ANGELES, MANCHESTER, NEW_YORK, PARIS, SYDNEY, TOKYO

pytestmark = pytest.mark.keeps_rows
SETTINGS = settings(max_examples=examples(150), deadline=None, suppress_health_check=list(HealthCheck))
# Cities with names that tie across countries and that are not ASCII, for orderings by name.
TIED_AND_UNICODE = ["Springfield", "San José", "København", "Zürich", "Łódź", "São Paulo", "İstanbul", "Ōsaka"]


def _cities_named(names):
    found = []
    for name in names:
        found += [city for (city,) in City.select(City.id).where(City.name == name).limit(3).tuples()]
    return found


@pytest.fixture(scope="module")
def varied_nodes(db):
    """Nodes in tied and Unicode-named cities, with and without ASNs, IPv4 and IPv6; kept for the module."""
    cities = _cities_named(TIED_AND_UNICODE) + [LONDON, MANCHESTER, PARIS, BERLIN, NEW_YORK, LOS_ANGELES,
                                                 TOKYO, SYDNEY]
    rng = random.Random(7)
    rows = [NodeRow(line=i, ip=f"198.51.{i // 250}.{i % 250 + 1}" if i % 3 else f"2001:db8::{i:x}",
                    city=rng.choice(cities), asn=rng.choice([None, 64496, 64497, 4294967295]),
                    network=rng.choice([None, "Example", 'quote " and \\ backslash', "Ünïcode"]))
             for i in range(300)]
    upsert_nodes(rows)
    yield cities
    Node.delete().execute()


@pytest.fixture(scope="module")
def reference(db):
    """A snapshot whose reference data the tests reuse (it does not change here); nodes are read again."""
    return load_snapshot(LISTS, None)


def fresh_snapshot(reference):
    return load_snapshot(LISTS, reference, catch_up=False)


@pytest.fixture(scope="module")
def varied_snapshot(varied_nodes, reference):
    return fresh_snapshot(reference)  # built before any test here changes a node


def query(spec, filters=(), order=None, descending=False, page=1, per_page=50, near=None):
    order = order or spec.query_schema.fields["order"].load_default
    normalised = tuple((name, spec.filters[name].normalise(values)) for name, values in filters)
    return ListQuery(filters=normalised, order=order, descending=descending, page=page, per_page=per_page, given=(),
                     near=near)


def memory_answer(snapshot, spec, q):
    return page_from_memory(snapshot.tables[spec.name], q)


def sql_answer(spec, q):
    return page_from_database(spec, q, read_versions(database))


def node_filters(cities):
    return st.lists(st.one_of(
        st.tuples(st.just("country"), st.lists(st.sampled_from(["GB", "fr", "DE", "US", "jp", "AU", "ZZ", "Br"]),
                                                min_size=1, max_size=3)),
        st.tuples(st.just("city"), st.lists(st.sampled_from(cities + [0, 1, 2**31 - 1]), min_size=1, max_size=4)),
        st.tuples(st.just("region"), st.lists(st.sampled_from([154, 155, 21, 30, 53, 5, 999]), min_size=1, max_size=2)),
        st.tuples(st.just("asn"), st.lists(st.sampled_from([64496, 64497, 4294967295, 0, 2**40]), min_size=1, max_size=2)),
        st.tuples(st.just("id"), st.lists(st.integers(-5, 400), min_size=1, max_size=6)),
        st.tuples(st.just("family"), st.lists(st.sampled_from([4, 6]), min_size=1, max_size=2)),
    ), max_size=3, unique_by=lambda pair: pair[0])


# A radius around one of the nodes' cities or anywhere, from a few kilometres to the whole sphere.
NEAR = st.one_of(st.none(), st.builds(Near, st.sampled_from([51.5, 48.9, 35.7, -33.9, 40.7]),
                                      st.sampled_from([-0.1, 2.35, 139.7, 151.2, -74.0]),
                                      st.sampled_from([5.0, 300.0, 1500.0, 9000.0, 20038.0])),
                 st.builds(Near, st.floats(-90, 90), st.floats(-180, 180), st.floats(0.001, 20038)))


@SETTINGS
@given(data=st.data())
def test_nodes_from_memory_are_the_nodes_from_the_database(varied_nodes, varied_snapshot, data):
    spec = LISTS["nodes"]
    snapshot = varied_snapshot
    near = data.draw(NEAR)
    orders = [*spec.orderings, "distance"] if near else list(spec.orderings)
    q = query(spec, filters=data.draw(node_filters(varied_nodes)), order=data.draw(st.sampled_from(orders)),
              descending=data.draw(st.booleans()), page=data.draw(st.integers(1, 12)),
              per_page=data.draw(st.sampled_from([1, 7, 50, 1000])), near=near)
    assert memory_answer(snapshot, spec, q) == sql_answer(spec, q)
    assert memory_text(snapshot.nodes, q) == spec.sql_lines(q)


LOCATION_FILTERS = {
    "regions": {"id": [154, 155, 10, 999, -1], "name": ["Northern Europe", "northern EUROPE", "Nowhere"],
                "continent": ["EU", "as", "XX"]},
    "countries": {"code": ["GB", "fr", "XK", "zz"], "name": ["France", "KOREA, REPUBLIC OF", "Åland Islands", "x"],
                  "region": [154, 155, 0], "continent": ["EU", "na", "AN"]},
    "cities": {"id": [LONDON, PARIS, 0, 2**31 - 1], "name": TIED_AND_UNICODE + ["london", "PARIS"],
               "country": ["GB", "us", "BR", "JP", "ZZ"], "region": [154, 21, 5]},
}


@pytest.fixture(scope="module")
def locations_snapshot(reference):
    return reference


@pytest.mark.parametrize("name", ["regions", "countries", "cities"])
def test_every_location_row_in_every_order_is_the_databases(locations_snapshot, name):
    """The whole walk compared by key (the database pages with OFFSET, independently of how the read model
    was built); the bytes on the first, a middle, the last and a past-the-end page."""
    spec = LISTS[name]
    table = locations_snapshot.tables[name]
    key_of = lambda row: orjson.loads(row)[spec.key.name]  # noqa: E731
    pages = -(-len(table) // 1000)
    for order in spec.orderings:
        for descending in (False, True):
            for page in range(1, pages + 2):
                q = query(spec, order=order, descending=descending, per_page=1000, page=page)
                keys, total, _ = spec.sql_page(q)
                rows, count, _ = memory_answer(locations_snapshot, spec, q)
                assert ([key_of(row) for row in rows], count) == (keys, total)
                if page in (1, pages // 2 + 1, pages, pages + 1):
                    assert memory_answer(locations_snapshot, spec, q) == sql_answer(spec, q)


@SETTINGS
@given(data=st.data())
def test_locations_from_memory_are_the_locations_from_the_database(locations_snapshot, data):
    name = data.draw(st.sampled_from(["regions", "countries", "cities"]))
    spec = LISTS[name]
    filters = data.draw(st.lists(st.sampled_from(list(LOCATION_FILTERS[name].items())), max_size=2,
                                 unique_by=lambda pair: pair[0]))
    q = query(spec, filters=[(key, data.draw(st.lists(st.sampled_from(values), min_size=1, max_size=3)))
                             for key, values in filters],
              order=data.draw(st.sampled_from(list(spec.orderings))), descending=data.draw(st.booleans()),
              page=data.draw(st.integers(1, 40)), per_page=data.draw(st.sampled_from([1, 13, 100, 1000])))
    assert memory_answer(locations_snapshot, spec, q) == sql_answer(spec, q)


def test_every_declared_filter_and_ordering_has_an_index(locations_snapshot):
    for name, spec in LISTS.items():
        table = locations_snapshot.tables[name]
        assert set(table.orderings) == set(spec.orderings), name
        # Nodes find an id through the id ordering and a family through its column (NodeTable.filter_slots).
        assert set(spec.filters) <= set(table.groups) | ({"id", "family"} if name == "nodes" else set()), name


@SETTINGS
@given(changes=st.lists(st.tuples(st.sampled_from(["add", "move", "renumber", "remove", "retype"]),
                                  st.integers(0, 10_000)), min_size=1, max_size=12))
def test_a_table_caught_up_from_the_log_equals_one_built_afresh(varied_nodes, reference, changes):
    snapshot = fresh_snapshot(reference)
    for action, seed in changes:
        rng = random.Random(seed)
        existing = [ip for (ip,) in Node.select(Node.ip).tuples()]
        if action == "remove" and existing:
            Node.delete().where(Node.ip.in_(rng.sample(existing, min(len(existing), rng.randint(1, 5))))).execute()
        elif action in ("move", "renumber", "retype") and existing:
            ip = rng.choice(existing)
            upsert_nodes([NodeRow(line=1, ip=ip, city=rng.choice(varied_nodes),
                                  asn=rng.randint(0, 2**32 - 1) if action == "renumber" else None,
                                  network="changed" if action == "retype" else None)])
        else:
            upsert_nodes([NodeRow(line=i, ip=f"203.0.113.{rng.randint(1, 254)}", city=rng.choice(varied_nodes))
                          for i in range(rng.randint(1, 3))][:1])
        snapshot = load_snapshot(LISTS, snapshot)
    afresh = fresh_snapshot(reference)
    spec = LISTS["nodes"]
    for order in spec.orderings:
        for descending in (False, True):
            q = query(spec, order=order, descending=descending, per_page=1000)
            assert memory_answer(snapshot, spec, q) == memory_answer(afresh, spec, q)
            for country in ("GB", "US", "JP"):
                q = query(spec, filters=[("country", [country])], order=order, descending=descending, per_page=1000)
                assert memory_answer(snapshot, spec, q) == memory_answer(afresh, spec, q) == sql_answer(spec, q)
