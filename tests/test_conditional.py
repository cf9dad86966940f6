"""Validators and conditional requests (contract §7, §9): ETag, Last-Modified, If-None-Match winning over
If-Modified-Since, and HEAD wherever GET is."""
import calendar
import re
from email.utils import formatdate, parsedate_to_datetime

import pytest

from models import Node
from models.dating import COMMIT_MARGIN
from models.node_writes import NodeRow, upsert_nodes
from tests.data import LOS_ANGELES, NEW_YORK, TOKYO

HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                       r"\d\d:\d\d:\d\d GMT$")


def seconds(header: str) -> int:
    return int(parsedate_to_datetime(header).timestamp())


@pytest.mark.parametrize("path", ["/nodes", "/nodes.txt", "/countries", "/regions/154", "/cities/2643743"])
def test_if_modified_since_is_answered(client, nodes, path, wall_clock):
    wall_clock.advance(2)  # the data's last second is settled: no change dated then can still appear
    first = client.simulate_get(path)
    modified = first.headers["last-modified"]
    assert HTTP_DATE.match(modified)
    assert client.simulate_get(path, headers={"If-Modified-Since": modified}).status_code == 304
    earlier = formatdate(seconds(modified) - 1, usegmt=True)
    assert client.simulate_get(path, headers={"If-Modified-Since": earlier}).status_code == 200


def test_the_second_of_a_change_is_never_answered_not_modified_until_it_is_settled(client, nodes, wall_clock):
    """Two changes within one second (contract §12): a copy dated by the first is not the second's."""
    node = Node.get(Node.ip == "192.0.2.2")
    changed_at = calendar.timegm(node.updated_at.timetuple())
    first = client.simulate_get("/nodes.txt")
    assert seconds(first.headers["last-modified"]) == changed_at  # not yet settled: the second itself
    assert client.simulate_get("/nodes.txt", headers={"If-Modified-Since": first.headers["last-modified"]}
                               ).status_code == 200
    upsert_nodes([NodeRow(line=1, ip="203.0.113.9", city=NEW_YORK)])  # within the same second, on this clock
    second = client.simulate_get("/nodes.txt", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert second.status_code == 200 and "203.0.113.9\n" in second.text
    # Settle the second's second itself: the real clock may have turned since the fixture froze this one.
    changed_again = calendar.timegm(Node.get(Node.ip == "203.0.113.9").updated_at.timetuple())
    wall_clock.now = changed_again + 1 + COMMIT_MARGIN
    settled = client.simulate_get("/nodes.txt")
    assert seconds(settled.headers["last-modified"]) == seconds(second.headers["last-modified"]) + 1
    assert client.simulate_get("/nodes.txt", headers={"If-Modified-Since": settled.headers["last-modified"]}
                               ).status_code == 304


def test_if_none_match_wins_over_if_modified_since(client, nodes):
    first = client.simulate_get("/nodes.txt")
    both = {"If-None-Match": '"not-the-tag"', "If-Modified-Since": first.headers["last-modified"]}
    assert client.simulate_get("/nodes.txt", headers=both).status_code == 200
    both = {"If-None-Match": first.headers["etag"], "If-Modified-Since": formatdate(0, usegmt=True)}
    assert client.simulate_get("/nodes.txt", headers=both).status_code == 304


@pytest.mark.parametrize("since", ["yesterday", "Tue, 99 Foo 2020 00:00:00 GMT", formatdate(4_102_444_800, usegmt=True)])
def test_an_invalid_or_future_date_is_ignored(client, nodes, since):
    assert client.simulate_get("/nodes.txt", headers={"If-Modified-Since": since}).status_code == 200


def test_a_list_is_dated_by_what_it_shows(client, nodes, wall_clock):
    """Adding or changing a node moves the lists it is in, not others; a node leaving a list moves every list
    (a list cannot tell which lists a removed node was in)."""
    wall_clock.advance(2)
    us = client.simulate_get("/nodes.txt", query_string="country=US").headers["last-modified"]
    jp = client.simulate_get("/nodes.txt", query_string="country=JP")
    upsert_nodes([NodeRow(line=1, ip="203.0.113.9", city=NEW_YORK, network="moved in")])
    assert client.simulate_get("/nodes.txt", query_string="country=JP",
                               headers={"If-Modified-Since": jp.headers["last-modified"]}).status_code == 304
    # A node changing only its network stays in its lists: the JP list is not touched.
    upsert_nodes([NodeRow(line=1, ip="203.0.113.9", city=LOS_ANGELES, network="still US")])
    # Moved to Tokyo: it left the US list, so every list may have changed.
    upsert_nodes([NodeRow(line=1, ip="203.0.113.9", city=TOKYO)])
    tokyo = client.simulate_get("/nodes.txt", query_string="country=JP")
    assert "203.0.113.9\n" in tokyo.text and seconds(tokyo.headers["last-modified"]) >= seconds(us)


def test_a_record_is_dated_by_its_update(client, nodes):
    node = Node.get(Node.ip == "192.0.2.2")
    answer = client.simulate_get(f"/nodes/{node.id}")
    # Written after the reference data was loaded: its own time is the newest.
    assert seconds(answer.headers["last-modified"]) == calendar.timegm(node.updated_at.timetuple())


@pytest.mark.parametrize("path, authorised", [
    ("/ping", False), ("/health", False), ("/nodes", False), ("/nodes.txt", False), ("/nodes/{node}", False),
    ("/regions", True), ("/regions/154", True), ("/countries", True), ("/countries/gb", True), ("/cities", True),
    ("/cities/2643743", True), ("/openapi.json", False), ("/openapi.yaml", False), ("/docs", False),
])
def test_head_wherever_get_is(client, anonymous, nodes, path, authorised):
    caller = client if authorised else anonymous
    path = path.format(node=nodes[0].id)
    got, head = caller.simulate_get(path), caller.simulate_head(path)
    assert head.status_code == got.status_code == 200 and head.content == b""
    ignored = {"x-request-id"} | ({"content-length"} if path == "/ping" else set())
    assert {k: v for k, v in head.headers.items() if k not in ignored} == \
        {k: v for k, v in got.headers.items() if k not in ignored}
    if not authorised:
        assert anonymous.simulate_head("/countries").status_code == 401  # HEAD is guarded like GET
