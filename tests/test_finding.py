"""Finding nodes and cities (contract §11): by distance, by address family, and the list as CIDR blocks.

Over HTTP, on a few nodes; tests/test_finding_properties.py holds the answers to a brute force.
"""
import ipaddress

import pytest

from tests.data import LONDON, MANCHESTER
from tests.helpers import assert_problem, expand_blocks, haversine

FRANKFURT = "50.1109,8.6821"
LONDON_POINT = "51.5074,-0.1278"


def get(client, path, query="", **headers):
    return client.simulate_get(path, query_string=query, headers=headers or None)


# --- over HTTP ------------------------------------------------------------------------------------


def test_family_splits_the_addresses(client, nodes):
    v4 = get(client, "/nodes.txt", "family=4").text.splitlines()
    v6 = get(client, "/nodes.txt", "family=6").text.splitlines()
    assert v4 and v6 and all(":" not in ip for ip in v4) and all(":" in ip for ip in v6)
    assert sorted(v4 + v6) == sorted(get(client, "/nodes.txt").text.splitlines())
    assert get(client, "/nodes.txt", "family=6,4").text == get(client, "/nodes.txt").text
    assert {n["ip"] for n in get(client, "/nodes", "family=6&perPage=100").json["data"]} == set(v6)
    for bad in ["5", "4,5", "v4", "", "4,6,4"]:
        assert "family" in assert_problem(get(client, "/nodes", f"family={bad}"), 400)["errors"]


def test_near_gives_distances_and_orders_by_them(client, nodes):
    result = get(client, "/nodes", f"near={LONDON_POINT}&radius=300&order=distance&perPage=100")
    found = result.json["data"]
    assert {n["city"]["id"] for n in found} == {LONDON, MANCHESTER}  # Paris is 344 km away
    distances = [n["distance"] for n in found]
    assert distances == sorted(distances) and distances[0] < 5 < 250 < distances[-1] < 300
    for node in found:
        exact = haversine(51.5074, -0.1278, node["latitude"], node["longitude"])
        assert node["distance"] == round(exact, 3)
    ties = [n["id"] for n in found if n["distance"] == distances[0]]
    assert ties == sorted(ties)  # equal distances: by id
    backwards = get(client, "/nodes", f"near={LONDON_POINT}&radius=300&order=distance&direction=desc&perPage=100")
    assert [n["id"] for n in backwards.json["data"]] == [n["id"] for n in found][::-1]
    assert result.json["meta"]["pagination"]["total"] == len(found)


def test_near_combines_with_filters_orders_and_pages(client, nodes):
    query = f"near={FRANKFURT}&radius=1000&family=4&country=GB,FR&order=city&perPage=3"
    first = get(client, "/nodes", query).json
    total = first["meta"]["pagination"]["total"]
    everything = []
    for page in range(1, first["meta"]["pagination"]["totalPages"] + 1):
        everything += get(client, "/nodes", f"{query}&page={page}").json["data"]
    assert len(everything) == total > 3
    assert all(":" not in n["ip"] and n["country"]["code"] in ("GB", "FR") and n["distance"] <= 1000
               for n in everything)
    assert [n["city"]["name"] for n in everything] == sorted(n["city"]["name"] for n in everything)
    lines = get(client, "/nodes.txt", f"near={FRANKFURT}&radius=1000&family=4&country=GB,FR&order=city").text
    assert lines.splitlines() == [n["ip"] for n in everything]


def test_cities_near_a_point(client):
    found = get(client, "/cities", f"near={FRANKFURT}&radius=30&order=distance").json["data"]
    assert found[0]["name"] == "Frankfurt am Main" and found[0]["distance"] < 2
    assert all(city["distance"] <= 30 for city in found)
    assert "distance" not in get(client, "/cities", "perPage=1").json["data"][0]
    everywhere = get(client, "/cities", "near=0,0&radius=20038&perPage=1").json["meta"]["pagination"]["total"]
    assert everywhere == get(client, "/cities", "perPage=1").json["meta"]["pagination"]["total"]


@pytest.mark.parametrize("query, parameter", [
    (f"near={FRANKFURT}", "radius"),
    ("radius=10", "near"),
    ("order=distance", "order"),
    ("near=91,0&radius=10", "near"),
    ("near=0,180.5&radius=10", "near"),
    ("near=abc&radius=10", "near"),
    ("near=1,2,3&radius=10", "near"),
    ("near=1e1,2&radius=10", "near"),
    ("near=nan,2&radius=10", "near"),
    (f"near={FRANKFURT}&radius=0", "radius"),
    (f"near={FRANKFURT}&radius=-5", "radius"),
    (f"near={FRANKFURT}&radius=20038.5", "radius"),
    (f"near={FRANKFURT}&radius=inf", "radius"),
    (f"near={FRANKFURT}&radius=1_000", "radius"),
])
@pytest.mark.parametrize("path", ["/nodes", "/nodes.txt", "/cities"])
def test_bad_near_queries_are_400_naming_the_parameter(client, path, query, parameter):
    body = assert_problem(get(client, path, query), 400)
    assert parameter in body["errors"], body


def test_aggregate_is_exact_and_in_family_then_address_order(client, nodes):
    blocks = get(client, "/nodes.txt", "aggregate=cidr").text.splitlines()
    addresses = get(client, "/nodes.txt").text.splitlines()
    expected = [str(n) for n in ipaddress.collapse_addresses(ipaddress.ip_address(a) for a in addresses if ":" not in a)]
    expected += [str(n) for n in ipaddress.collapse_addresses(ipaddress.ip_address(a) for a in addresses if ":" in a)]
    assert blocks == expected and len(blocks) < len(addresses)
    assert get(client, "/nodes", "aggregate=cidr", Accept="text/plain").text == "\n".join(blocks) + "\n"
    only_v4 = get(client, "/nodes.txt", "aggregate=cidr&family=4").text.splitlines()
    assert only_v4 == [block for block in blocks if ":" not in block]
    near = get(client, "/nodes.txt", f"aggregate=cidr&near={LONDON_POINT}&radius=300").text.splitlines()
    assert set(expand_blocks(near)) == {n["ip"] for n in get(client, "/nodes", f"near={LONDON_POINT}&radius=300&perPage=100")
                                 .json["data"]}


@pytest.mark.parametrize("query, parameter", [
    ("aggregate=cidr&order=id", "order"), ("aggregate=cidr&direction=asc", "direction"),
    ("aggregate=ranges", "aggregate"), ("aggregate=", "aggregate"),
])
def test_bad_aggregate_queries_are_400(client, query, parameter):
    assert parameter in assert_problem(get(client, "/nodes.txt", query), 400)["errors"]


def test_aggregate_on_nodes_is_the_text_list_whatever_accept_prefers(client, nodes):
    """CIDR blocks exist only as text: with `aggregate`, `/nodes` is `/nodes.txt` for any Accept that allows
    text (none, */*, a JSON preference), and an Accept that allows only JSON is a 406 naming text/plain."""
    blocks = get(client, "/nodes.txt", "aggregate=cidr").text
    for accept in (None, "*/*", "text/plain", "application/json, text/plain;q=0.5"):
        answer = get(client, "/nodes", "aggregate=cidr", **({"Accept": accept} if accept else {}))
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
        assert answer.text == blocks and "Accept" in answer.headers["Vary"].split(", ")
    refused = assert_problem(get(client, "/nodes", "aggregate=cidr", Accept="application/json"), 406)
    assert "text/plain" in refused["detail"]



def test_addresses_are_put_in_order_once_per_version_whatever_query_finds_them(client, nodes, monkeypatch):
    """Contract §14: the CIDR blocks of any set (a circle round the whole sphere from any point, a 5,000 km
    circle, a country) are selected from each family's addresses put in address order once per data version:
    no request parses or sorts addresses (that cost about 100 plain pages each time)."""
    import readmodel.nodes
    from schemas.cidr import packed_order

    calls = []
    monkeypatch.setattr(readmodel.nodes, "packed_order", lambda *args: calls.append(1) or packed_order(*args))
    whole = get(client, "/nodes.txt", "aggregate=cidr").text
    answers = {get(client, "/nodes.txt", f"aggregate=cidr&family=4,6&near={lat},{lon}&radius=20038").text
               for lat, lon in ((0, 0), (51.5, -0.12), (-33.9, 151.2), (89.9, 179.9), (-45, -120))}
    assert answers == {whole}
    for lat, lon in ((0, 0), (51.5, -0.12), (-33.9, 151.2)):
        get(client, "/nodes.txt", f"aggregate=cidr&near={lat},{lon}&radius=5000")
        get(client, "/nodes.txt", f"aggregate=cidr&family=6&near={lat},{lon}&radius=19000")
    get(client, "/nodes.txt", "aggregate=cidr&country=DE,FR")
    assert len(calls) == 2  # one per family
