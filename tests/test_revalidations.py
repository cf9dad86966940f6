"""A poll answered again before the framework (resources/revalidations.py): the same 304 as the full path, for
the very same request at the very same snapshot only."""
import json
from dataclasses import replace

import falcon
import pytest

from app import LISTS, create_app
from models.node_writes import NodeRow, upsert_nodes
from readmodel.store import ReadModel
from resources import revalidations
from tests.data import PARIS
from tests.contract import ContractClient

FRESHNESS = 30.0


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def ticks():
    return Ticks()


@pytest.fixture
def polled(config, db, clock, nodes, ticks, session_snapshot):
    """An app whose read model is confirmed current for FRESHNESS seconds of `ticks`, as in production."""
    model = ReadModel(LISTS, FRESHNESS, clock=ticks, start_from=session_snapshot)
    model.refresh()
    built = []

    def build(**settings):
        built.append(create_app(replace(config, data_freshness=FRESHNESS, **settings), db=db, clock=clock, read_model=model))
        return ContractClient(built[-1])

    yield build
    model.stop()


@pytest.fixture
def full_path(monkeypatch):
    """How many requests went through the framework (routing, hooks, responder)."""
    calls = []
    through = falcon.App.__call__

    def counted(self, env, start_response):
        calls.append(env["PATH_INFO"])
        return through(self, env, start_response)

    monkeypatch.setattr(falcon.App, "__call__", counted)
    return calls


def without_request_id(headers) -> dict:
    return {name: value for name, value in headers.items() if name != "x-request-id"}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path, headers", [
    ("/nodes.txt", {}),
    ("/nodes.txt?aggregate=cidr&family=4", {}),
    ("/nodes?country=FR&order=city", {"Accept": "text/plain"}),
    ("/nodes?perPage=5", {}),
])
def test_a_repeated_poll_gets_the_full_paths_304_with_its_own_request_id(polled, full_path, method, path, headers):
    client = polled()
    url, _, query = path.partition("?")
    tag = client.simulate_get(url, query_string=query, headers=headers).headers["etag"]
    poll = {**headers, "If-None-Match": tag}
    first = client.simulate_request(method, url, query_string=query, headers=poll)
    assert first.status_code == 304 and len(full_path) == 2
    again = [client.simulate_request(method, url, query_string=query, headers=poll) for _ in range(3)]
    assert len(full_path) == 2  # answered before the framework
    for replayed in again:
        assert replayed.status_code == 304 and replayed.content == b""
        assert without_request_id(replayed.headers) == without_request_id(first.headers)
        assert len(replayed.headers["x-request-id"]) == 32
    assert len({r.headers["x-request-id"] for r in [first, *again]}) == 4
    named = client.simulate_request(method, url, query_string=query, headers={**poll, "X-Request-ID": "poller-7"})
    assert named.status_code == 304 and named.headers["x-request-id"] == "poller-7"
    assert client.simulate_request(method, url, query_string=query,
                                   headers={**poll, "X-Request-ID": "not a token!"}).headers["x-request-id"] != "not a token!"


def test_a_replayed_poll_writes_the_same_access_line(polled, full_path, capsys):
    client = polled(trusted_proxy_hops=1)
    tag = client.simulate_get("/nodes.txt").headers["etag"]
    poll = {"If-None-Match": tag, "X-Forwarded-For": "203.0.113.50"}
    client.simulate_get("/nodes.txt", headers={**poll, "X-Request-ID": "full-1"})
    client.simulate_get("/nodes.txt", headers={**poll, "X-Request-ID": "replayed-1"})
    assert len(full_path) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    full, replayed = (next(e for e in lines if e.get("request_id") == rid) for rid in ("full-1", "replayed-1"))
    for entry in (full, replayed):
        del entry["time"], entry["request_id"], entry["duration_ms"]
    assert replayed == full
    assert full["ip"] == "203.0.113.50" and full["status"] == 304 and full["message"] == "GET /nodes.txt 304"


def test_a_change_ends_the_replay_once_the_snapshot_moves(polled, full_path, ticks):
    client = polled()
    first = client.simulate_get("/nodes.txt")
    poll = {"If-None-Match": first.headers["etag"]}
    assert [client.simulate_get("/nodes.txt", headers=poll).status_code for _ in range(3)] == [304] * 3
    assert len(full_path) == 2
    ticks.now += FRESHNESS + 1  # unconfirmed: the full path looks at the database, which has not changed
    assert client.simulate_get("/nodes.txt", headers=poll).status_code == 304 and len(full_path) == 3
    assert client.simulate_get("/nodes.txt", headers=poll).status_code == 304 and len(full_path) == 3

    upsert_nodes([NodeRow(line=1, ip="198.51.100.77", city=PARIS)])
    ticks.now += FRESHNESS + 1
    changed = client.simulate_get("/nodes.txt", headers=poll)
    assert changed.status_code == 200 and "198.51.100.77\n" in changed.text
    assert changed.headers["etag"] != first.headers["etag"]
    assert client.simulate_get("/nodes.txt", headers=poll).status_code == 200  # never the old 304 again


def test_only_the_very_same_request_is_replayed(polled, full_path):
    client = polled()
    tag = client.simulate_get("/nodes.txt").headers["etag"]
    client.simulate_get("/nodes.txt", headers={"If-None-Match": tag})
    client.simulate_get("/nodes.txt", headers={"If-None-Match": tag})
    replays = len(full_path)
    other_tag = client.simulate_get("/nodes.txt", headers={"If-None-Match": '"something-else"'})
    assert other_tag.status_code == 200
    assert client.simulate_get("/nodes.txt", query_string="family=4", headers={"If-None-Match": tag}).status_code == 200
    unknown = client.simulate_get("/nodes.txt", query_string="bogus=1", headers={"If-None-Match": tag})
    assert unknown.status_code == 400
    with_body = client.simulate_get("/nodes.txt", headers={"If-None-Match": tag}, body="12345")
    assert with_body.status_code == 304
    assert len(full_path) == replays + 4  # each of them went through the framework

    json_tag = client.simulate_get("/nodes").headers["etag"]
    assert client.simulate_get("/nodes", headers={"If-None-Match": json_tag}).status_code == 304
    assert client.simulate_get("/nodes", headers={"If-None-Match": json_tag}).status_code == 304
    refused = client.simulate_get("/nodes", headers={"If-None-Match": json_tag, "Accept": "application/xml"})
    assert refused.status_code == 406
    text = client.simulate_get("/nodes", headers={"If-None-Match": json_tag, "Accept": "text/plain"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")


def test_a_request_with_credentials_is_never_replayed(polled, full_path, token):
    client = polled()
    bearer = {"Authorization": f"Bearer {token}"}
    tag = client.simulate_get("/countries", headers=bearer).headers["etag"]
    for _ in range(3):
        assert client.simulate_get("/countries", headers={**bearer, "If-None-Match": tag}).status_code == 304
    assert len(full_path) == 4
    assert client.simulate_get("/countries", headers={"If-None-Match": tag}).status_code == 401
    wrong = client.simulate_get("/countries", headers={"If-None-Match": tag, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_the_origin_is_part_of_the_request_replayed(polled, full_path):
    client = polled(cors_origins=("https://app.example.com",))
    tag = client.simulate_get("/nodes.txt").headers["etag"]
    allowed = {"If-None-Match": tag, "Origin": "https://app.example.com"}
    first = client.simulate_get("/nodes.txt", headers=allowed)
    again = client.simulate_get("/nodes.txt", headers=allowed)
    assert len(full_path) == 2
    assert again.headers["access-control-allow-origin"] == "https://app.example.com"
    assert without_request_id(again.headers) == without_request_id(first.headers)
    other = client.simulate_get("/nodes.txt", headers={"If-None-Match": tag, "Origin": "https://evil.example"})
    assert other.status_code == 304 and "access-control-allow-origin" not in other.headers
    assert "origin" in other.headers["vary"].lower()


def test_what_is_kept_is_bounded(polled, full_path, nodes, monkeypatch):
    monkeypatch.setattr(revalidations, "REPLIES", 4)
    client = polled()
    polls = []
    for node in nodes[:6]:
        tag = client.simulate_get(f"/nodes/{node.id}").headers["etag"]
        polls.append((f"/nodes/{node.id}", {"If-None-Match": tag}))
        assert client.simulate_get(polls[-1][0], headers=polls[-1][1]).status_code == 304
    kept = len(full_path)
    assert [client.simulate_get(path, headers=poll).status_code for path, poll in polls[-4:]] == [304] * 4
    assert len(full_path) == kept  # the four newest are kept
    assert client.simulate_get(polls[0][0], headers=polls[0][1]).status_code == 304
    assert len(full_path) == kept + 1  # the oldest was let go
    text_tag = client.simulate_get("/nodes.txt").headers["etag"]
    long_list = {"If-None-Match": '"' + "x" * revalidations.LONGEST + f'", {text_tag}'}
    assert [client.simulate_get("/nodes.txt", headers=long_list).status_code for _ in range(2)] == [304, 304]
    assert len(full_path) == kept + 4  # a request longer than LONGEST is never kept


def test_without_a_read_model_nothing_is_replayed(other_app, config, db, nodes, full_path):
    client = other_app(replace(config, data_freshness=FRESHNESS), db=db)
    tag = client.simulate_get("/nodes.txt").headers["etag"]
    for _ in range(3):
        assert client.simulate_get("/nodes.txt", headers={"If-None-Match": tag}).status_code == 304
    assert len(full_path) == 4
