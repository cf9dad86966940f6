"""The list machinery (contract §3): pagination metadata, links, walking pages, and every 400."""
from urllib.parse import parse_qs, urlsplit

import pytest


def get(client, path, query=""):
    return client.simulate_get(path, query_string=query)


def test_pagination_metadata_and_links(client):
    result = get(client, "/regions", "perPage=10&page=2&order=name")
    meta = result.json["meta"]["pagination"]
    assert meta == {
        "total": 23, "count": 10, "perPage": 10, "currentPage": 2, "totalPages": 3,
        "links": {"previous": "/regions?perPage=10&order=name&page=1",
                  "next": "/regions?perPage=10&order=name&page=3"},
    }


def test_first_and_last_pages_have_no_link_beyond(client):
    first = get(client, "/regions", "perPage=20").json["meta"]["pagination"]
    assert first["links"] == {"previous": None, "next": "/regions?perPage=20&page=2"}
    last = get(client, "/regions", "perPage=20&page=2").json["meta"]["pagination"]
    assert last["count"] == 3 and last["links"]["next"] is None


def test_page_past_the_end_is_empty_with_the_true_total(client):
    result = get(client, "/regions", "page=7&perPage=10")
    assert result.status_code == 200
    assert result.json["data"] == []
    meta = result.json["meta"]["pagination"]
    assert (meta["total"], meta["count"], meta["totalPages"]) == (23, 0, 3)
    assert meta["links"] == {"previous": "/regions?perPage=10&page=3", "next": None}


def link_header(result) -> dict:
    """{rel: URL} of an RFC 8288 Link header (each link once, as this service sends them)."""
    links = {}
    for part in result.headers["link"].split(", "):
        target, rel = part.split("; ")
        assert target[0] == "<" and target[-1] == ">" and rel.startswith('rel="')
        links[rel[5:-1]] = target[1:-1]
    return links


def test_link_headers_name_next_prev_first_and_last_as_the_meta_does(client):
    """Issue 24: RFC 8288 links on every paginated list, as GitHub sends them; the same URLs as the meta."""
    middle = get(client, "/regions", "perPage=10&page=2&order=name")
    assert link_header(middle) == {"next": "/regions?perPage=10&order=name&page=3",
                                   "prev": "/regions?perPage=10&order=name&page=1",
                                   "first": "/regions?perPage=10&order=name&page=1",
                                   "last": "/regions?perPage=10&order=name&page=3"}
    first = get(client, "/countries", "perPage=100")
    assert link_header(first) == {"next": "/countries?perPage=100&page=2", "first": "/countries?perPage=100&page=1",
                                  "last": "/countries?perPage=100&page=3"}
    past_the_end = get(client, "/regions", "page=7&perPage=10")
    assert link_header(past_the_end)["prev"] == past_the_end.json["meta"]["pagination"]["links"]["previous"]
    nothing = get(client, "/cities", "name=Nowhere%20At%20All")
    assert link_header(nothing) == {"first": "/cities?name=Nowhere%20At%20All&page=1".replace("%20", "+"),
                                    "last": "/cities?name=Nowhere%20At%20All&page=1".replace("%20", "+")}
    head = client.simulate_head("/regions", query_string="perPage=10&page=2&order=name")
    assert head.headers["link"] == middle.headers["link"] and not head.content
    following = link_header(middle)["next"]
    walked = client.simulate_get(following.split("?")[0], query_string=following.split("?")[1])
    assert walked.json["meta"]["pagination"]["currentPage"] == 3 and "next" not in link_header(walked)


def test_a_text_list_has_no_pages_and_no_links(client, nodes):
    assert "link" not in get(client, "/nodes.txt").headers


def test_defaults_are_page_1_of_50(client):
    meta = get(client, "/countries").json["meta"]["pagination"]
    assert (meta["currentPage"], meta["perPage"], meta["count"], meta["total"]) == (1, 50, 50, 249)


def test_links_keep_every_other_parameter_encoded(client):
    result = get(client, "/countries", 'name="Korea, Republic of",France&perPage=1')
    next_link = result.json["meta"]["pagination"]["links"]["next"]
    assert parse_qs(urlsplit(next_link).query) == {
        "name": ['"Korea, Republic of",France'], "perPage": ["1"], "page": ["2"]}
    assert client.simulate_get(next_link.split("?")[0], query_string=next_link.split("?")[1]).json["data"][0]["code"] == "KR"


@pytest.mark.parametrize("order", ["id", "name", "population", "country"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_walking_all_pages_yields_each_row_once(client, order, direction):
    seen, page = [], 1
    while True:
        result = get(client, "/cities", f"country=GB,IE,IS&order={order}&direction={direction}&perPage=97&page={page}")
        data = result.json["data"]
        if not data:
            break
        seen.extend(row["id"] for row in data)
        page += 1
    total = result.json["meta"]["pagination"]["total"]
    assert len(seen) == total == len(set(seen)) > 97


@pytest.mark.parametrize("query, parameter", [
    ("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"), ("page=1.5", "page"), ("page=", "page"),
    ("page=99999999999999999999", "page"), ("page=%EF%BC%92", "page"), ("page=1_0", "page"), ("page=%201", "page"),
    ("perPage=0", "perPage"), ("perPage=1001", "perPage"), ("perPage=x", "perPage"),
    ("order=population", "order"), ("order=", "order"), ("direction=up", "direction"),
    ("direction=ASC", "direction"),
    ("id=abc", "id"), ("id=1,x", "id"), ("id=", "id"), ("id=1,,2", "id"), ("id=%D9%A1", "id"), ("id=1.0", "id"),
    ("id=%201%09", "id"), ("name=%22unclosed", "name"), ("name=a%00b", "name"), ("name=a%09b", "name"),
    ("name=%22a%22%20", "name"), ("name=%20%20", "name"), ("name=%22%20%22", "name"),
    ("colour=red", "colour"), ("page=1&page=2", "page"), ("code=GB&code=FR", "code"),
])
def test_malformed_parameters_are_400_naming_them(client, query, parameter):
    path = "/regions" if parameter in {"id"} else "/countries"
    result = get(client, path, query)
    assert result.status_code == 400, (query, result.text)
    assert result.headers["content-type"] == "application/problem+json"
    body = result.json
    assert list(body["errors"]) == [parameter]
    assert parameter in body["detail"]


@pytest.mark.parametrize("query", ["id=0", "id=-5", "id=2147483648", "id=" + "9" * 5000, "id=%2B0"])
def test_integers_no_row_can_have_match_nothing(client, query):
    result = get(client, "/regions", query)
    assert result.status_code == 200 and result.json["data"] == []
    mixed = get(client, "/regions", query + ",154,%22010%22")
    assert [r["id"] for r in mixed.json["data"]] == [10, 154]


def test_long_text_values_match_nothing(client):
    assert get(client, "/countries", "name=" + "x" * 5000).json["data"] == []


def test_unknown_parameter_error_lists_the_known_ones(client):
    body = get(client, "/nodes", "colour=red").json
    assert body["errors"]["colour"] == [
        "Unknown parameter; this endpoint accepts: page, perPage, order, direction, id, country, city, region, asn, "
        "family, near, radius, aggregate."]


def test_more_than_1000_values_is_400(client):
    ok = get(client, "/regions", "id=" + ",".join(str(i) for i in range(1, 1001)))
    assert ok.status_code == 200
    result = get(client, "/regions", "id=" + ",".join(str(i) for i in range(1, 1002)))
    assert result.status_code == 400 and "id" in result.json["errors"]


def test_every_wrong_parameter_is_named_at_once(client):
    body = get(client, "/countries", "page=0&perPage=5000&order=x").json
    assert set(body["errors"]) == {"page", "perPage", "order"}
