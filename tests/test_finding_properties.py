"""Finding nodes and cities, held to a brute force (contract §11).

Radius searches on the read model and on the SQL path are compared with a haversine over every row (math,
not numpy), across the antimeridian, at the poles and at the radius limits. CIDR blocks are expanded and
compared with the addresses they stand for, and with the standard library's collapse.
"""
import ipaddress

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app import LISTS
from models import City, Node
from models.data_version import read_versions
from models.database import database
from models.distance import Near
from models.node_writes import NodeRow, upsert_nodes
from readmodel.list_files import FileBody
from readmodel.nodes import SITE_LINES_KEPT
from readmodel.snapshot import load_snapshot
from resources.list_query import ListQuery
from resources.representations import page_from_database, page_from_memory, text_from_database, text_from_memory
from schemas.cidr import address_order, blocks, blocks_in_chunks, cidr_text
from tests.data import BERLIN, LONDON, MANCHESTER, PARIS, TOKYO
from tests.helpers import examples, expand_blocks, haversine, memory_text

pytestmark = pytest.mark.keeps_rows
SURAT_SUBURB, SURAT_NEIGHBOUR = 1273618, 13665129  # both at 20.41431, 72.83236 in GeoNames
CHOSHI, CHOSHI_NEIGHBOUR = 2112802, 2112996  # both at 35.73333, 140.83333
KHAMIS_MUSHAIT, INDAPUR = 105072, 1269761  # both at latitude 18.3 (42.7° and 73.3° east): one distance from a pole
SETTINGS = settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
EDGE = 1e-6  # km: a row this close to the circle may fall either side by float rounding; not held to either
# Points where a radius search goes wrong if written naively: the poles, both sides of the antimeridian,
# the whole sphere, the smallest radius.
EDGE_CASES = [(90, 0, 2000), (-90, 0, 3000), (89.9, 179.9, 500), (0, 180, 1500), (0, -180, 1500),
              (-16.5, 179.99, 800), (65, -179.5, 400), (0, 0, 20038), (51.5, -0.1, 0.001)]


# --- CIDR -----------------------------------------------------------------------------------------


@st.composite
def address_sets(draw):
    """Addresses in clusters (so that blocks form), IPv4 and IPv6, with scattered ones."""
    addresses = set()
    for _ in range(draw(st.integers(0, 6))):
        version = draw(st.sampled_from([4, 6]))
        bits = 32 if version == 4 else 128
        base = draw(st.integers(0, 2**bits - 1)) & ~0xFF
        offsets = draw(st.lists(st.integers(0, 300), max_size=60))
        kind = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        addresses |= {str(kind(min(base + offset, 2**bits - 1))) for offset in offsets}
    return addresses


@settings(max_examples=examples(300), deadline=None)
@given(addresses=address_sets())
@example(addresses={"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"})
@example(addresses={f"192.0.2.{i}" for i in range(256)} | {"2001:db8::"})
@example(addresses=set())
def test_cidr_blocks_cover_exactly_the_addresses(addresses):
    text = "".join(f"{a}\n" for a in sorted(addresses)).encode()
    blocks = cidr_text(text).decode().splitlines()
    expanded = expand_blocks(blocks)
    assert len(expanded) == len(set(expanded)) and set(expanded) == addresses  # exact, no overlap
    networks = [ipaddress.ip_network(block) for block in blocks]
    v4, v6 = [n for n in networks if n.version == 4], [n for n in networks if n.version == 6]
    assert networks == sorted(v4) + sorted(v6)  # IPv4 first, each in address order
    for version, found in ((4, v4), (6, v6)):  # the fewest blocks: the standard library's collapse
        assert found == list(ipaddress.collapse_addresses(
            ipaddress.ip_address(a) for a in addresses if ipaddress.ip_address(a).version == version))


@settings(max_examples=examples(200), deadline=None)
@given(addresses=address_sets(), at_once=st.integers(1, 8), family=st.sampled_from([4, 6]))
def test_blocks_made_a_chunk_at_a_time_are_the_blocks_of_the_whole(addresses, at_once, family):
    """A chunk never cuts a run of consecutive addresses, so the blocks are the same however the lines are cut."""
    mine = sorted(a for a in addresses if ipaddress.ip_address(a).version == family)
    order = address_order(mine, family)
    lines = [f"{mine[position]}\n".encode() for position in order.order.tolist()]
    whole = blocks(b"".join(lines), order.follows, family)
    assert b"".join(blocks_in_chunks(lambda start, end: b"".join(lines[start:end]), order.follows, len(lines),
                                     family, at_once)) == whole


# --- radius ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spread_nodes(db):
    """Nodes in cities all over the globe, the nearest to either pole and either side of the antimeridian
    included; kept for the module."""
    cities = [city for (city,) in City.select(City.id).order_by(City.latitude).limit(15).tuples()]
    cities += [city for (city,) in City.select(City.id).order_by(City.latitude.desc()).limit(15).tuples()]
    cities += [city for (city,) in City.select(City.id).where((City.longitude > 170) | (City.longitude < -170))
               .limit(30).tuples()]
    cities += [city for (city,) in City.select(City.id).order_by(City.id).tuples()][::40]
    cities += [LONDON, MANCHESTER, PARIS, BERLIN, TOKYO]
    # Pairs of cities at the very same point, their nodes' ids interleaved: distances that tie across cities.
    cities += [SURAT_SUBURB, SURAT_NEIGHBOUR] * 3 + [CHOSHI, CHOSHI_NEIGHBOUR] * 2
    cities += [KHAMIS_MUSHAIT, INDAPUR] * 3  # tie seen from either pole only
    upsert_nodes([NodeRow(line=i, ip=f"198.18.{i // 250}.{i % 250 + 1}" if i % 5 else f"2001:db8::{i:x}",
                          city=city, asn=64496, network=None) for i, city in enumerate(cities)])
    yield
    Node.delete().execute()


@pytest.fixture(scope="module")
def snapshot(spread_nodes):
    return load_snapshot(LISTS, None)


def points():
    return st.tuples(st.floats(-90, 90), st.floats(-180, 180), st.floats(0.001, 20038))


def near_query(near, order, descending=False, filters=(), aggregate=None):
    return ListQuery(filters=filters, order=order, descending=descending, page=1, per_page=1000, given=(),
                     near=near, aggregate=aggregate)


def brute_force(rows, near):
    """{key: exact km} of the rows surely inside, and the keys of rows on the edge (either answer is right)."""
    inside, edge = {}, set()
    for key, latitude, longitude in rows:
        km = haversine(near.latitude, near.longitude, latitude, longitude)
        if abs(km - near.radius) <= EDGE:
            edge.add(key)
        elif km < near.radius:
            inside[key] = km
    return inside, edge


def assert_found(found: dict, inside: dict, edge: set):
    assert set(inside) <= set(found) <= set(inside) | edge
    for key, km in inside.items():
        assert abs(found[key] - km) <= 0.0006  # rounded to the metre


def with_edge_cases(test):
    for latitude, longitude, radius in EDGE_CASES:
        test = example(point=(latitude, longitude, radius))(test)
    return test


@SETTINGS
@given(point=points(), order=st.sampled_from(["distance", "id", "city"]), descending=st.booleans())
@example(point=EDGE_CASES[0], order="distance", descending=True)
@example(point=EDGE_CASES[3], order="id", descending=False)
@example(point=EDGE_CASES[7], order="distance", descending=False)
def test_nodes_within_a_radius_are_exactly_those_a_brute_force_finds(snapshot, point, order, descending):
    near = Near(*point)
    inside, edge = brute_force(Node.select(Node.id, City.latitude, City.longitude).join(City).tuples(), near)
    spec = LISTS["nodes"]
    q = near_query(near, order, descending)
    memory = page_from_memory(snapshot.nodes, q)
    assert memory == page_from_database(spec, q, read_versions(database))
    items = [orjson.loads(row) for row in memory[0]]
    assert_found({item["id"]: item["distance"] for item in items}, inside, edge)
    if order == "distance":
        assert [item["distance"] for item in items] == sorted((item["distance"] for item in items), reverse=descending)
    assert memory_text(snapshot.nodes, q) == spec.sql_lines(q)


@SETTINGS
@given(point=points(), descending=st.booleans(), family=st.sampled_from([(), (4,), (6,), (4, 6)]))
@example(point=(90.0, 0.0, 20038.0), descending=False, family=())
@example(point=(90.0, 0.0, 8000.0), descending=True, family=(4,))
@example(point=(-90.0, 0.0, 20038.0), descending=True, family=())
@example(point=(20.41431, 72.83236, 20038.0), descending=True, family=(6,))
def test_a_text_list_in_distance_order_is_what_the_database_finds(snapshot, point, descending, family):
    """Such a list is joined from the table's addresses laid out site by site (`NodeTable.distance_text`), and
    mirrored for `direction=desc`; the same bytes and Last-Modified as the database's."""
    q = near_query(Near(*point), "distance", descending, filters=(("family", family),) if family else ())
    assert text_from_memory(snapshot.nodes, q) == text_from_database(LISTS["nodes"], q, read_versions(database))


@pytest.mark.parametrize("descending", [False, True])
def test_sites_at_one_distance_have_their_nodes_in_id_order_together(snapshot, descending):
    """Two cities at different points but one distance from the pole: their nodes interleave by id in the list
    (one site's slice after the other's would not)."""
    q = near_query(Near(90.0, 0.0, 20038.0), "distance", descending)
    tied = [node.ip for node in Node.select(Node.ip).where(Node.city.in_([KHAMIS_MUSHAIT, INDAPUR]))
            .order_by(Node.id.desc() if descending else Node.id)]
    lines = text_from_memory(snapshot.nodes, q)[0].decode().splitlines()
    first = lines.index(tied[0])
    assert lines[first:first + len(tied)] == tied
    assert text_from_memory(snapshot.nodes, q) == text_from_database(LISTS["nodes"], q, read_versions(database))


@pytest.mark.parametrize("order", ["id", "city", "country", "region"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("family", [(), (4,), (6,)])
def test_the_whole_list_in_any_order_is_a_file_of_the_instance(snapshot, order, descending, family):
    """Every address (of a family) in any order is made once per instance and sent from its file
    (`NodeTable.ordered_list`), as the database lists it."""
    q = ListQuery(filters=(("family", family),) if family else (), order=order, descending=descending, page=1,
                  per_page=50, given=(), near=None, aggregate=None)
    assert isinstance(text_from_memory(snapshot.nodes, q)[0].body, FileBody)
    assert memory_text(snapshot.nodes, q) == LISTS["nodes"].sql_lines(q)


def test_the_addresses_laid_out_by_site_are_bounded_and_made_again_when_asked(snapshot):
    """Every family set both ways is four times a table's addresses: at most SITE_LINES_KEPT are kept, and a
    list whose layout went is made again, the same."""
    table, near = snapshot.nodes, Near(10.0, 20.0, 20038.0)
    for _ in range(2):
        for family in ((4,), (6,), (4, 6)):
            for descending in (False, True):
                q = near_query(near, "distance", descending, filters=(("family", family),))
                assert text_from_memory(table, q) == text_from_database(LISTS["nodes"], q, read_versions(database))
                assert 0 < sum(kept.lines for kept in table._site_lines.values()) <= SITE_LINES_KEPT * len(table)
    assert len(table._site_lines) < 6


@SETTINGS
@given(point=points(), order=st.sampled_from(["distance", "id", "country"]), descending=st.booleans(),
       family=st.sampled_from([(4,), (6,), (4, 6)]))
@example(point=(0.0, 0.0, 20038.0), order="id", descending=False, family=(6,))
@example(point=(10.0, 20.0, 19000.0), order="distance", descending=True, family=(4,))
def test_filtered_circles_and_their_blocks_are_what_the_database_finds(snapshot, point, order, descending, family):
    """The read model's paths for small circles (their cities' nodes gathered), large ones (picked out of the
    whole order) and CIDR blocks of any subset (selected from the addresses in address order) agree with SQL."""
    spec = LISTS["nodes"]
    q = near_query(Near(*point), order, descending, filters=(("family", family),))
    assert page_from_memory(snapshot.nodes, q) == page_from_database(spec, q, read_versions(database))
    assert memory_text(snapshot.nodes, q) == spec.sql_lines(q)
    blocks = near_query(Near(*point), "id", filters=(("family", family),), aggregate="cidr")
    assert memory_text(snapshot.nodes, blocks) == spec.sql_lines(blocks)


@pytest.fixture(scope="module")
def city_points(db):
    """(id, latitude, longitude) of every city, read once for the module's examples."""
    return list(City.select(City.id, City.latitude, City.longitude).tuples())


@SETTINGS
@given(point=points())
@with_edge_cases
def test_cities_within_a_radius_are_exactly_those_a_brute_force_finds(snapshot, city_points, point):
    near = Near(*point)
    inside, edge = brute_force(city_points, near)
    table = snapshot.tables["cities"]
    slots, metres, _ = table.selection({}, "distance", near)
    found = dict(zip([orjson.loads(row)["id"] for row in table.render(slots)], (metres / 1000).tolist()))
    assert_found(found, inside, edge)
    by_database = LISTS["cities"].sql_near(near_query(near, "distance"))
    assert [row[0] for row in by_database] == list(found) and [row[3] for row in by_database] == metres.tolist()


@pytest.mark.parametrize("point", [(0.0, 0.0, 20038.0), (-33.87, 151.21, 20015.12), (51.5, -0.13, 20015.11)])
@pytest.mark.parametrize("name, order", [("cities", "id"), ("cities", "population"), ("nodes", "city")])
def test_a_circle_round_the_whole_sphere_is_the_list_with_distances(snapshot, point, name, order):
    """Such a circle is answered from the same query's result without it, each page's rows measured alone
    (`Near.holds_everything`); just short of it, the circle is searched: both as the database finds them."""
    near = Near(*point)
    assert near.holds_everything() == (near.radius >= 20015.12)  # half the circumference: 20015.1144 km
    table = snapshot.nodes if name == "nodes" else snapshot.tables[name]
    for descending in (False, True):
        q = near_query(near, order, descending)
        assert page_from_memory(table, q) == page_from_database(LISTS[name], q, read_versions(database))


@SETTINGS
@given(point=points(), descending=st.booleans(), family=st.sampled_from([(), (4,), (6,), (4, 6)]),
       per_page=st.integers(1, 7), page=st.integers(1, 60))
@example(point=(20.41431, 72.83236, 20038.0), descending=False, family=(), per_page=2, page=1)
@example(point=(20.41431, 72.83236, 50.0), descending=True, family=(4,), per_page=3, page=1)
@example(point=(-35.7, -39.2, 20038.0), descending=True, family=(), per_page=4, page=1)
def test_a_page_in_distance_order_is_what_the_database_finds(snapshot, point, descending, family, per_page, page):
    """Such a page is worked out from the cities it reaches (`NodeTable.distance_page`), ties across cities at
    one point included; it is the database's page, with the same total and Last-Modified."""
    q = ListQuery(filters=(("family", family),) if family else (), order="distance", descending=descending,
                  page=page, per_page=per_page, given=(), near=Near(*point), aggregate=None)
    assert page_from_memory(snapshot.nodes, q) == page_from_database(LISTS["nodes"], q, read_versions(database))
