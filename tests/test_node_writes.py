"""Managing nodes through the API (contract §10): POST, PATCH (merge patch) and DELETE with `nodes:write`,
If-Match, every refusal with nothing changed, one log line per change, and the lists up to date at once."""
import json

import pytest

from models import Node
from security.tokens import TokenService
from tests.data import BERLIN, LONDON, PARIS, TOKYO, make_user
from tests.contract import ContractClient
from tests.helpers import assert_problem

NEW = {"ip": "192.0.2.77", "city": LONDON, "asn": 64500, "network": "Example, Inc."}


def post(client, body, **kwargs):
    return client.simulate_post("/nodes", json=body, **kwargs)


def patch(client, node_id, body, content_type="application/merge-patch+json", headers=None):
    return client.simulate_patch(f"/nodes/{node_id}", body=json.dumps(body),
                                 headers={"Content-Type": content_type, **(headers or {})})


def test_a_node_is_created_with_its_place_and_a_location(writer, anonymous, capsys):
    created = post(writer, {**NEW, "ip": "2001:DB8:0::77"})
    assert created.status_code == 201
    node = created.json["data"]
    assert created.headers["location"] == f"/nodes/{node['id']}"
    assert node["ip"] == "2001:db8::77" and node["country"]["code"] == "GB" and node["region"]["id"] == 154
    assert node["network"] == "Example, Inc." and node["createdAt"] == node["updatedAt"]
    # Served at once, as the record, in the lists and the text list, with the tag the write answered.
    record = anonymous.simulate_get(created.headers["location"])
    assert record.json == created.json and record.headers["etag"] == created.headers["etag"]
    assert "2001:db8::77\n" in anonymous.simulate_get("/nodes.txt").text
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"perfops.nodes"' in line]
    assert [(line["action"], line["node_id"], line["ip"]) for line in lines] == [("created", node["id"], "2001:db8::77")]
    assert lines[0]["user_id"] and lines[0]["request_id"]


def test_writes_need_the_permission_not_a_role(app, config, clock, anonymous, nodes):
    admin = make_user("admin@example.com", role="admin")
    token = TokenService(config, clock).issue(admin, auth_time=int(clock().timestamp())).token
    admin_client = ContractClient(app, headers={"Authorization": f"Bearer {token}"})
    node_id = nodes[0].id
    for client, status in ((anonymous, 401), (admin_client, 403)):
        assert post(client, NEW).status_code == status
        assert patch(client, node_id, {"asn": 1}).status_code == status
        assert client.simulate_delete(f"/nodes/{node_id}").status_code == status
    assert Node.select().count() == len(nodes) and Node.get_by_id(node_id).asn == nodes[0].asn


@pytest.mark.parametrize("body, field", [
    ({**NEW, "city": 7}, "city"),  # no such city
    ({**NEW, "city": "2643743"}, "city"),
    ({**NEW, "city": True}, "city"),
    ({**NEW, "city": 2643743.5}, "city"),
    ({**NEW, "ip": "fe80::1%eth0"}, "ip"),
    ({**NEW, "ip": "::ffff:192.0.2.1"}, "ip"),
    ({**NEW, "ip": "192.0.2.300"}, "ip"),
    ({**NEW, "ip": 3221225985}, "ip"),
    ({**NEW, "asn": -1}, "asn"),
    ({**NEW, "asn": 4294967296}, "asn"),
    ({**NEW, "network": "x" * 256}, "network"),
    ({**NEW, "network": "tab\there"}, "network"),
    ({**NEW, "colour": "red"}, "colour"),
    ({"city": LONDON}, "ip"),
    ({"ip": "192.0.2.77"}, "city"),
])
def test_a_bad_field_is_a_422_naming_it_and_nothing_is_written(writer, body, field):
    result = post(writer, body)
    assert result.status_code == 422, result.text
    assert field in result.json["errors"]
    assert Node.select().count() == 0


def test_an_ipv4_mapped_address_is_refused_naming_the_ipv4_address(writer):
    result = post(writer, {**NEW, "ip": "::ffff:192.0.2.1"})
    assert "give the IPv4 address 192.0.2.1" in result.json["errors"]["ip"][0]


def test_an_address_already_held_is_a_409(writer, nodes):
    result = post(writer, {**NEW, "ip": nodes[0].ip})
    assert result.status_code == 409 and "ip" in result.json["errors"]
    assert Node.select().count() == len(nodes)


@pytest.mark.parametrize("body, content_type, status", [
    (b"[1, 2]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b"{not json", "application/json", 400),
    (b"", "application/json", 400),
    (json.dumps(NEW).encode(), "text/plain", 415),
    (json.dumps(NEW).encode(), "application/merge-patch+json", 415),  # a patch type is not for POST
])
def test_a_body_that_is_not_a_json_object_changes_nothing(writer, body, content_type, status):
    result = writer.simulate_post("/nodes", body=body, headers={"Content-Type": content_type})
    assert result.status_code == status and result.headers["content-type"] == "application/problem+json"
    assert Node.select().count() == 0


def test_media_types_of_bodies_are_compared_without_regard_to_case(writer):
    result = writer.simulate_post("/nodes", body=json.dumps(NEW), headers={"Content-Type": "APPLICATION/JSON"})
    assert result.status_code == 201


def test_many_unknown_fields_are_named_briefly(writer):
    body = {**NEW, **{f"k{i}" * 100: i for i in range(50)}}
    result = post(writer, body)
    assert result.status_code == 422 and len(result.json["errors"]) == 5
    assert all(len(name) <= 64 for name in result.json["errors"]) and "50 unknown fields" in result.json["detail"]


def test_a_merge_patch_sets_clears_and_leaves_the_rest(writer, nodes):
    node = nodes[1]
    before = writer.simulate_get(f"/nodes/{node.id}").json["data"]
    moved = patch(writer, node.id, {"city": TOKYO, "network": None})
    assert moved.status_code == 200
    after = moved.json["data"]
    assert (after["city"]["id"], after["country"]["code"], after["region"]["id"]) == (TOKYO, "JP", 30)
    assert after["network"] is None and after["asn"] == before["asn"] and after["ip"] == before["ip"]
    # application/json is taken too; a patch that changes nothing leaves updatedAt where it was.
    same = patch(writer, node.id, {"city": TOKYO}, content_type="application/json")
    assert same.status_code == 200 and same.json["data"]["updatedAt"] == after["updatedAt"]
    assert patch(writer, node.id, {}).json["data"] == after


@pytest.mark.parametrize("body, field", [
    ({"ip": None}, "ip"), ({"city": None}, "city"), ({"city": 7}, "city"), ({"asn": "1"}, "asn"),
    ({"id": 5}, "id"), ({"country": {"code": "FR"}}, "country"),
])
def test_a_bad_patch_changes_nothing(writer, nodes, body, field):
    node = nodes[2]
    before = writer.simulate_get(f"/nodes/{node.id}")
    result = patch(writer, node.id, body)
    assert result.status_code == 422 and field in result.json["errors"]
    assert writer.simulate_get(f"/nodes/{node.id}").content == before.content


def test_a_patch_to_an_address_another_node_holds_is_a_409(writer, nodes):
    result = patch(writer, nodes[0].id, {"ip": nodes[1].ip})
    assert result.status_code == 409
    assert Node.get_by_id(nodes[0].id).ip == nodes[0].ip


def test_if_match_guards_patch_and_delete(writer, nodes):
    node = nodes[3]
    tag = writer.simulate_get(f"/nodes/{node.id}").headers["etag"]
    changed = patch(writer, node.id, {"asn": 65000}, headers={"If-Match": tag})
    assert changed.status_code == 200
    stale = patch(writer, node.id, {"asn": 1}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.headers["etag"] == changed.headers["etag"]
    assert writer.simulate_delete(f"/nodes/{node.id}", headers={"If-Match": tag}).status_code == 412
    assert patch(writer, node.id, {"asn": 1}, headers={"If-Match": f"W/{changed.headers['etag']}"}).status_code == 412
    assert Node.get_by_id(node.id).asn == 65000  # none of those changed anything
    assert patch(writer, node.id, {"asn": 2}, headers={"If-Match": "*"}).status_code == 200
    current = writer.simulate_get(f"/nodes/{node.id}").headers["etag"]
    assert writer.simulate_delete(f"/nodes/{node.id}", headers={"If-Match": f'"x", {current}'}).status_code == 204


UNUSABLE = [("0.0.0.0", "unspecified"), ("::", "unspecified"), ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"),
            ("::1", "loopback"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
            ("255.255.255.255", "limited broadcast"), ("0.1.2.3", "this network"), ("::1.2.3.4", "IPv4-compatible")]


@pytest.mark.parametrize("ip, says", UNUSABLE)
def test_an_address_no_node_can_have_is_a_422_naming_ip(writer, nodes, ip, says):
    """Contract §14: it would reach every allow-list."""
    created = post(writer, {**NEW, "ip": ip})
    assert created.status_code == 422 and says in " ".join(created.json["errors"]["ip"])
    assert patch(writer, nodes[0].id, {"ip": ip}).status_code == 422
    assert Node.select().where(Node.ip == ip).count() == 0


def test_if_none_match_guards_patch_and_delete_of_an_existing_node(writer, nodes):
    """RFC 9110 §13.1.2, contract §14: `*` names any current representation; a current tag (weak comparison)
    too; either makes the write a 412 that changes nothing. A tag that is not current lets it through."""
    node = nodes[8]
    tag = writer.simulate_get(f"/nodes/{node.id}").headers["etag"]
    for header in ("*", tag, f"W/{tag}", f'"x", {tag}'):
        refused = patch(writer, node.id, {"asn": 1}, headers={"If-None-Match": header})
        assert refused.status_code == 412 and refused.headers["etag"] == tag, header
        assert "If-None-Match" in refused.json["detail"]
        assert writer.simulate_delete(f"/nodes/{node.id}", headers={"If-None-Match": header}).status_code == 412
    assert Node.get_by_id(node.id).asn == node.asn
    # If-Match is evaluated first: a stale one is the reason given.
    stale = patch(writer, node.id, {"asn": 1}, headers={"If-Match": '"stale"', "If-None-Match": "*"})
    assert stale.status_code == 412 and "If-Match" in stale.json["detail"]
    assert patch(writer, node.id, {"asn": 3}, headers={"If-None-Match": '"another"'}).status_code == 200
    assert writer.simulate_delete(f"/nodes/{node.id}", headers={"If-None-Match": '"another"'}).status_code == 204


def test_a_nodes_tag_moves_when_that_node_changes_and_only_then(writer, nodes):
    first, second = nodes[4], nodes[5]
    tag = writer.simulate_get(f"/nodes/{first.id}").headers["etag"]
    patch(writer, second.id, {"city": BERLIN})
    writer.simulate_delete(f"/nodes/{nodes[6].id}")
    post(writer, NEW)
    assert writer.simulate_get(f"/nodes/{first.id}").headers["etag"] == tag
    assert patch(writer, first.id, {"city": PARIS}, headers={"If-Match": tag}).status_code == 200  # still current
    assert writer.simulate_get(f"/nodes/{first.id}").headers["etag"] != tag


def test_delete_removes_it_everywhere_and_a_second_time_is_a_404(writer, anonymous, nodes, capsys):
    node = nodes[7]
    assert writer.simulate_delete(f"/nodes/{node.id}").status_code == 204
    assert anonymous.simulate_get(f"/nodes/{node.id}").status_code == 404
    assert f"{node.ip}\n" not in anonymous.simulate_get("/nodes.txt").text
    assert node.id not in [n["id"] for n in anonymous.simulate_get("/nodes", query_string="perPage=1000").json["data"]]
    assert writer.simulate_delete(f"/nodes/{node.id}").status_code == 404
    assert patch(writer, node.id, {"asn": 1}).status_code == 404
    removed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"node removed"' in line]
    assert [(line["node_id"], line["ip"]) for line in removed] == [(node.id, node.ip)]


@pytest.mark.parametrize("accept", ["application/problem+json", "text/html", "application/xml"])
def test_delete_answers_whatever_accept_says(writer, nodes, accept):
    """A 204 has no content for Accept to choose (OpenAPI Generator's clients send the one media type the
    operation documents, `application/problem+json`); a refusal is problem+json whatever Accept says."""
    assert writer.simulate_delete(f"/nodes/{nodes[3].id}", headers={"Accept": accept}).status_code == 204
    assert_problem(writer.simulate_delete(f"/nodes/{nodes[3].id}", headers={"Accept": accept}), 404)
