"""The change feed (contract §13): GET /nodes/changes?after=V, exact (replayed onto the list at V it gives the
list at meta.version, paged and filtered), 410 beyond the kept history, 400 beyond the data."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Node
from models.database import write_transaction
from models.node_changes import prune_change_log
from models.node_writes import NodeRow, create_node, delete_node, update_node
from tests.data import BERLIN, LONDON, NEW_YORK, PARIS, TOKYO
from tests.helpers import assert_problem, examples

CITIES = [LONDON, PARIS, BERLIN, NEW_YORK, TOKYO]
ADDRESSES = [f"192.0.2.{last}" for last in range(1, 9)] + [f"2001:db8::{last:x}" for last in range(1, 9)]


def version_now(client) -> int:
    return int(client.simulate_get("/nodes", query_string="perPage=1").headers["x-data-version"])


def listed(client, query: str) -> dict:
    """id -> node of the filtered list, and the version it is at."""
    result = client.simulate_get("/nodes", query_string=f"perPage=1000&{query}".rstrip("&"))
    return {node["id"]: node for node in result.json["data"]}, int(result.headers["x-data-version"])


def replayed(client, nodes: dict, after: int, query: str, per_page: int) -> tuple[dict, int]:
    """`nodes` with every change after `after` applied, following `next` to the end."""
    nodes = dict(nodes)
    url = f"/nodes/changes?after={after}&perPage={per_page}&{query}".rstrip("&")
    while url:
        path, _, query_string = url.partition("?")
        page = client.simulate_get(path, query_string=query_string)
        assert page.status_code == 200, page.text
        versions = [entry["version"] for entry in page.json["data"]]
        assert versions == sorted(versions) and all(version > after for version in versions)
        for entry in page.json["data"]:
            if entry["action"] == "removed":
                assert nodes.pop(entry["node"]["id"], None) is not None, entry
            else:
                assert (entry["node"]["id"] in nodes) == (entry["action"] == "updated"), entry
                nodes[entry["node"]["id"]] = entry["node"]
        reached = page.json["meta"]["version"]
        url = page.json["meta"]["next"]
    return nodes, reached


operations = st.lists(st.tuples(st.sampled_from(["create", "address", "city", "delete"]),
                                st.integers(0, len(ADDRESSES) - 1), st.sampled_from(CITIES)), max_size=25)


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=operations, query=st.sampled_from(["", "country=GB,FR", "family=6", "country=JP,US&family=4",
                                                     "city=" + str(PARIS)]),
       per_page=st.sampled_from([1, 3, 1000]))
def test_the_feed_replayed_onto_the_old_list_gives_the_new_list(anonymous, db, operations, query, per_page):
    Node.delete().execute()
    for index, city in enumerate(CITIES):
        create_node(NodeRow(line=0, ip=ADDRESSES[index * 3 % len(ADDRESSES)], city=city))
    before, at = listed(anonymous, query)
    for action, index, city in operations:
        ids = [node_id for (node_id,) in Node.select(Node.id).order_by(Node.id).tuples()]
        taken = {ip for (ip,) in Node.select(Node.ip).tuples()}
        free = [ip for ip in ADDRESSES if ip not in taken]
        if action == "create" and free:
            create_node(NodeRow(line=0, ip=free[index % len(free)], city=city))
        elif ids and action == "delete":
            delete_node(ids[index % len(ids)])
        elif ids and action == "city":
            update_node(ids[index % len(ids)], {"city": city})
        elif ids and action == "address" and free:
            update_node(ids[index % len(ids)], {"ip": free[index % len(free)]})
    after, now = listed(anonymous, query)
    nodes, reached = replayed(anonymous, before, at, query, per_page)
    assert reached == now and nodes == after


def test_a_change_is_followed_by_action(anonymous, nodes):
    start = version_now(anonymous)
    node_id = create_node(NodeRow(line=0, ip="203.0.113.70", city=LONDON))
    update_node(node_id, {"city": PARIS})
    delete_node(node_id)
    page = anonymous.simulate_get("/nodes/changes", query_string=f"after={start}")
    assert [(entry["action"], entry["node"]["city"]["id"]) for entry in page.json["data"]] == \
        [("created", LONDON), ("updated", PARIS), ("removed", PARIS)]
    assert page.json["meta"] == {"version": version_now(anonymous), "next": None}
    # Filtered by country: in Britain it was created, then it left (removed, as it was there).
    british = anonymous.simulate_get("/nodes/changes", query_string=f"after={start}&country=gb")
    assert [(entry["action"], entry["node"]["country"]["code"]) for entry in british.json["data"]] == \
        [("created", "GB"), ("removed", "GB")]
    caught_up = anonymous.simulate_get("/nodes/changes", query_string=f"after={page.json['meta']['version']}")
    assert caught_up.json == {"data": [], "meta": {"version": page.json["meta"]["version"], "next": None}}
    again = anonymous.simulate_get("/nodes/changes", query_string=f"after={start}",
                                   headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304


def test_next_keeps_the_filters_and_pages_end_anywhere(anonymous, nodes):
    start = version_now(anonymous)
    for last in range(5):
        create_node(NodeRow(line=0, ip=f"2001:db8:5::{last + 1}", city=TOKYO))
    page = anonymous.simulate_get("/nodes/changes", query_string=f"after={start}&family=6&perPage=2")
    assert len(page.json["data"]) == 2
    following = page.json["meta"]["next"]
    assert following == f"/nodes/changes?after={page.json['data'][1]['version']}&family=6&perPage=2"


def test_history_beyond_what_is_kept_is_gone_and_beyond_the_data_is_a_400(anonymous, nodes):
    start = version_now(anonymous)
    create_node(NodeRow(line=0, ip="203.0.113.71", city=LONDON))
    assert_problem(anonymous.simulate_get("/nodes/changes", query_string=f"after={version_now(anonymous) + 1}"), 400)
    with write_transaction():
        prune_change_log(now=2**40, keep_changes=0, every=0)  # everything is old
    gone = assert_problem(anonymous.simulate_get("/nodes/changes", query_string=f"after={start}"), 410)
    assert "read the whole list again" in gone["detail"]
    assert anonymous.simulate_get("/nodes/changes", query_string=f"after={version_now(anonymous)}").status_code == 200


@pytest.mark.parametrize("query", ["", "after=-1", "after=x", "after=1&after=2", "after=1&perPage=0",
                                   "after=1&perPage=1001", "after=1&order=id", "after=1&family=5"])
def test_a_bad_query_is_a_400_naming_it(anonymous, query):
    assert_problem(anonymous.simulate_get("/nodes/changes", query_string=query), 400)


def test_history_is_kept_for_a_week_and_the_last_hundred_thousand_changes(db, nodes):
    from models.data_version import read_versions
    from models.database import database

    floor = read_versions(database).change_log_floor
    with write_transaction():
        prune_change_log(every=0)  # written just now: all kept
    assert read_versions(database).change_log_floor == floor
    with write_transaction():
        prune_change_log(now=2**40, every=0)  # old, but fewer than 100,000: all kept
    assert read_versions(database).change_log_floor == floor



def test_entries_cut_from_the_read_models_cities_are_the_bytes_the_database_path_writes(anonymous, nodes,
                                                                                         read_model):
    """The feed renders a node's place from the read model's cities when the worker holds them (contract §14:
    a page of 1,000 changes costs a few plain pages, not fifty); byte for byte what the database path gives."""
    from models.node_changes import changes_between
    from resources.changes import NodeChanges

    start = version_now(anonymous)
    created = create_node(NodeRow(line=0, ip="2001:db8::77", city=TOKYO, asn=64500, network='Quote " and Ünïcode'))
    update_node(created, {"city": NEW_YORK, "asn": None, "network": None})
    update_node(nodes[0].id, {"network": "Example\\Backslash"})
    delete_node(nodes[1].id)
    rows = changes_between(start, version_now(anonymous), {}, 1000)
    assert len(rows) == 4
    snapshot = read_model.current()
    assert NodeChanges._entries(rows, snapshot.places) == NodeChanges._entries(rows)


def test_a_caught_up_follower_is_answered_from_memory_as_the_database_would(other_app, config, db, nodes,
                                                                            session_snapshot, monkeypatch):
    from dataclasses import replace

    from app import LISTS
    from models.data_version import read_versions
    from readmodel.instance_version import InstanceVersion
    from readmodel.store import ReadModel

    model = ReadModel(LISTS, 60.0, instance=InstanceVersion(), start_from=session_snapshot)
    model.refresh()
    try:
        from_memory = other_app(replace(config, data_freshness=60.0), db=db, read_model=model)
        from_database = other_app(config, db=db)
        query = f"after={read_versions(db).data}"
        expected = from_database.simulate_get("/nodes/changes", query_string=query)

        def no_database(*args, **kwargs):
            raise AssertionError("the database was read")

        monkeypatch.setattr(db, "execute_sql", no_database)
        answered = from_memory.simulate_get("/nodes/changes", query_string=query)
        assert answered.status_code == expected.status_code == 200
        assert answered.content == expected.content
        for header in ("etag", "last-modified", "x-data-version", "cache-control", "content-type"):
            assert answered.headers[header] == expected.headers[header], header
    finally:
        model.stop()
