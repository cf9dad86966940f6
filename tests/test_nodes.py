"""Nodes: JSON pages, filters, orderings, the text list, negotiation, ETags (contract §2, §3, §7)."""
import pytest

from models import City, Node
from models.node_writes import NodeRow, upsert_nodes
from tests.data import BERLIN, LONDON, PARIS, TOKYO

TEXT = "text/plain; charset=utf-8"


def data(client, query=""):
    result = client.simulate_get("/nodes", query_string=query)
    assert result.status_code == 200, result.text
    return result.json["data"]


def test_node_shape(client, nodes):
    node = Node.get(Node.ip == "192.0.2.2")
    city = City.get_by_id(node.city_id)  # a node is where its city is
    body = client.simulate_get(f"/nodes/{node.id}").json["data"]
    assert body == {
        "id": node.id, "ip": "192.0.2.2", "asn": 64497, "network": "Example Network 1",
        "city": {"id": 2643123, "name": "Manchester"}, "country": {"code": "GB", "name": "United Kingdom"},
        "region": {"id": 154, "name": "Northern Europe"}, "latitude": city.latitude, "longitude": city.longitude,
        "createdAt": node.created_at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "updatedAt": node.updated_at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    }
    assert isinstance(body["latitude"], float) and isinstance(body["longitude"], float)


def test_path_ids_are_ascii_digits(client, nodes):
    node_id = nodes[0].id
    assert client.simulate_get(f"/nodes/000{node_id}").json["data"]["id"] == node_id
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in str(node_id))
    assert client.simulate_get(f"/nodes/{fullwidth}").status_code == 404
    assert client.simulate_get(f"/nodes/+{node_id}").status_code == 404


def test_ipv6_is_canonical(client, nodes):
    assert "2001:db8::1" in {n["ip"] for n in data(client, "perPage=100")}


@pytest.mark.parametrize("query, predicate", [
    ("country=GB", lambda n: n["country"]["code"] == "GB"),
    ("country=gb,fr", lambda n: n["country"]["code"] in {"GB", "FR"}),
    (f"city={LONDON},{TOKYO}", lambda n: n["city"]["id"] in {LONDON, TOKYO}),
    ("region=154", lambda n: n["region"]["id"] == 154),
    ("asn=64496", lambda n: n["asn"] == 64496),
    ("asn=64496&country=DE", lambda n: n["asn"] == 64496 and n["country"]["code"] == "DE"),
])
def test_filters(client, nodes, query, predicate):
    everything = data(client, "perPage=1000")
    expected = [n["id"] for n in everything if predicate(n)]
    assert expected
    assert [n["id"] for n in data(client, f"{query}&perPage=1000")] == expected


def test_id_filter_and_unknown_values(client, nodes):
    ids = [nodes[0].id, nodes[5].id]
    assert [n["id"] for n in data(client, f"id={ids[1]},{ids[0]}")] == sorted(ids)
    assert data(client, "country=ZZ") == []
    assert data(client, "asn=0") == []


@pytest.mark.parametrize("order, key", [
    ("id", lambda n: n["id"]),
    ("city", lambda n: n["city"]["name"]),
    ("country", lambda n: n["country"]["name"]),
    ("region", lambda n: n["region"]["name"]),
])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_orderings_with_id_tie_break(client, nodes, order, key, direction):
    rows = data(client, f"order={order}&direction={direction}&perPage=1000")
    expected = sorted(rows, key=lambda n: (key(n), n["id"]), reverse=direction == "desc")
    assert [n["id"] for n in rows] == [n["id"] for n in expected]


def test_walking_pages_of_an_ordered_list(client, nodes):
    seen = []
    for page in range(1, 20):
        seen += [n["id"] for n in data(client, f"order=region&perPage=7&page={page}")]
    assert sorted(seen) == sorted(n.id for n in nodes)


def test_malformed_integers_are_400_and_out_of_range_ones_match_nothing(client, nodes):
    for query in ["asn=AS13335", "region=x", "city=1e3"]:
        assert client.simulate_get("/nodes", query_string=query).status_code == 400, query
    for query in ["asn=-1", "asn=4294967296", "city=0"]:
        assert data(client, query) == [], query


# --- the text list ---------------------------------------------------------------------------

def lines(result):
    assert result.status_code == 200, result.text
    assert result.headers["content-type"] == TEXT
    assert result.text == "" or result.text.endswith("\n")
    return result.text.splitlines()


def test_nodes_txt_lists_every_match_in_order_unpaginated(client, nodes):
    result = client.simulate_get("/nodes.txt")
    assert lines(result) == [n.ip for n in nodes]
    uk = lines(client.simulate_get("/nodes.txt", query_string="country=GB&order=city&page=3&perPage=1"))
    json_uk = [n["ip"] for n in data(client, "country=GB&order=city&perPage=1000")]
    assert uk == json_uk and len(uk) > 1


@pytest.mark.parametrize("accept", ["application/json", "text/html", "*/*", "image/png"])
def test_nodes_txt_whatever_the_accept(client, nodes, accept):
    assert len(lines(client.simulate_get("/nodes.txt", headers={"Accept": accept}))) == len(nodes)


@pytest.mark.parametrize("accept, expected", [
    ("text/plain", "text"),
    ("text/*", "text"),
    ("application/json", "json"),
    (None, "json"),
    ("*/*", "json"),
    ("text/plain;q=0.5, application/json;q=0.9", "json"),
    ("application/json;q=0.2, text/plain", "text"),
    ("text/html, text/plain;q=0.1", "text"),
])
def test_nodes_negotiates_with_q_values(client, nodes, accept, expected):
    headers = {"Accept": accept} if accept else {}
    result = client.simulate_get("/nodes", query_string="country=FR", headers=headers)
    assert result.status_code == 200
    assert result.headers["vary"] == "Accept, Accept-Encoding, X-Min-Data-Version"
    if expected == "text":
        assert result.headers["content-type"] == TEXT
        assert lines(result) == [n["ip"] for n in data(client, "country=FR")]
    else:
        assert result.headers["content-type"] == "application/json"


def test_no_match_is_an_empty_200(client, nodes):
    result = client.simulate_get("/nodes.txt", query_string="country=AQ")
    assert result.status_code == 200 and result.text == ""
    assert lines(client.simulate_get("/nodes", query_string="country=AQ", headers={"Accept": "text/plain"})) == []


def test_text_list_400s_like_json(client):
    result = client.simulate_get("/nodes.txt", query_string="country=%22x&page=0")
    assert result.status_code == 400
    assert set(result.json["errors"]) == {"country", "page"}


# --- ETags -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, headers", [
    ("/nodes", {}), ("/nodes", {"Accept": "text/plain"}), ("/nodes.txt", {}), ("/countries", {}),
    ("/regions", {}), ("/cities", {}),
])
def test_etag_and_304(client, nodes, path, headers):
    first = client.simulate_get(path, headers=headers)
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"')
    again = client.simulate_get(path, headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304 and again.text == ""
    assert again.headers["etag"] == tag
    weak = client.simulate_get(path, headers={**headers, "If-None-Match": f'"nope", W/{tag}'})
    assert weak.status_code == 304
    other = client.simulate_get(path, headers={**headers, "If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_etag_differs_by_representation_and_query(client, nodes):
    tags = {
        client.simulate_get("/nodes").headers["etag"],
        client.simulate_get("/nodes", headers={"Accept": "text/plain"}).headers["etag"],
        client.simulate_get("/nodes", query_string="country=GB").headers["etag"],
        client.simulate_get("/nodes", query_string="page=2").headers["etag"],
    }
    assert len(tags) == 4


def test_etag_changes_when_and_only_when_the_representation_does(client, nodes):
    tag = client.simulate_get("/nodes.txt").headers["etag"]
    upsert_nodes([NodeRow(line=1, ip="198.51.100.77", city=BERLIN)])
    stale = client.simulate_get("/nodes.txt", headers={"If-None-Match": tag})
    assert stale.status_code == 200 and "198.51.100.77\n" in stale.text
    text_tag, json_tag = stale.headers["etag"], client.simulate_get("/nodes").headers["etag"]
    # Moved to another city in place (same id): the addresses are the same, the JSON is not.
    upsert_nodes([NodeRow(line=1, ip="198.51.100.77", city=PARIS)])
    assert client.simulate_get("/nodes.txt", headers={"If-None-Match": text_tag}).status_code == 304
    moved = client.simulate_get("/nodes", headers={"If-None-Match": json_tag})
    assert moved.status_code == 200 and moved.headers["etag"] != json_tag
