"""A client author's whole workflow through the client openapi-python-client generated from openapi.yaml, with
its defaults: run by tests/test_generated_client.py as

    python generated_client_workflow.py BASE_URL USERNAME PASSWORD OTP_SECRET

with the generated package `perfops_client` on PYTHONPATH. Exits non-zero naming the first step that failed.
"""
import sys

import pyotp
from perfops_client import AuthenticatedClient, Client
from perfops_client.api.auth import authenticate, refresh_token
from perfops_client.api.general import head_ping, health, ping
from perfops_client.api.locations import (get_city, get_country, get_region, head_list_countries, list_cities,
                                          list_countries, list_regions)
from perfops_client.api.nodes import (create_node, delete_node, get_node, head_get_node, head_list_node_addresses,
                                      head_list_nodes, list_node_addresses, list_node_changes, list_nodes,
                                      update_node)
from perfops_client.models import (ListCitiesDirection, ListCitiesOrder, ListNodeAddressesAggregate,
                                   ListNodesDirection, ListNodesOrder, ListRegionsOrder, NodeInput, NodePatch,
                                   PasswordLogin)

LONDON = 2643743


def expect(condition, step: str, detail=None) -> None:
    if not condition:
        sys.exit(f"generated client: {step} failed: {detail!r}")


def ok(response, step: str, status: int = 200):
    expect(response.status_code == status, step, (response.status_code, response.content[:500]))
    return response


def main(base: str, username: str, password: str, otp_secret: str) -> None:
    anonymous = Client(base_url=base)
    expect(ping.sync(client=anonymous).version, "ping")
    expect(health.sync(client=anonymous).status == "ok", "health")
    ok(head_ping.sync_detailed(client=anonymous), "HEAD /ping")

    # Login with the second factor, then refresh.
    login = ok(authenticate.sync_detailed(client=anonymous, body=PasswordLogin(
        username=username, password=password, otp=pyotp.TOTP(otp_secret).now())), "login with a one-time password")
    client = AuthenticatedClient(base_url=base, token=login.parsed.data.token)
    refreshed = ok(refresh_token.sync_detailed(client=client), "refresh").parsed.data
    expect(refreshed.token_type == "Bearer" and refreshed.expires_in > 0, "refresh", refreshed)
    client = AuthenticatedClient(base_url=base, token=refreshed.token)
    expect(ping.sync(client=client).user.name, "ping with the token")

    # Locations: every filter and ordering, records, HEAD.
    regions = list_regions.sync(client=client, continent="EU", order=ListRegionsOrder.NAME)
    expect([r.name for r in regions.data] == sorted(r.name for r in regions.data) and regions.data, "regions")
    expect(get_region.sync(154, client=client).data.name == "Northern Europe", "a region")
    countries = list_countries.sync(client=client, name='"Korea, Republic of",France', region="155,30")
    expect({c.code for c in countries.data} == {"FR", "KR"}, "countries by quoted names", countries)
    expect(list_countries.sync(client=client, code="gb", continent="EU").meta.pagination.total == 1, "countries")
    expect(get_country.sync("GB", client=client).data.iso3 == "GBR", "a country")
    ok(head_list_countries.sync_detailed(client=client), "HEAD /countries")
    largest = list_cities.sync(client=client, country="GB", order=ListCitiesOrder.POPULATION,
                               direction=ListCitiesDirection.DESC, per_page=3)
    expect(largest.data[0].name == "London" and largest.meta.pagination.per_page == 3, "cities by population")
    near = list_cities.sync(client=client, near="51.5074,-0.1278", radius="25", order=ListCitiesOrder.DISTANCE)
    expect(near.data and near.data[0].distance is not None, "cities near London")
    expect(get_city.sync(LONDON, client=client).data.timezone == "Europe/London", "a city")

    # Nodes: the defaults, every filter, pages, orderings, the text and CIDR lists, validators.
    everything = list_nodes.sync(client=client, per_page=1000)
    total = everything.meta.pagination.total
    expect(total >= 3, "the node list", total)
    first = everything.data[0]
    for name, value in (("id", str(first.id)), ("country", first.country.code), ("city", str(first.city.id)),
                        ("region", str(first.region.id)), ("asn", str(first.asn)), ("family", "4,6")):
        page = list_nodes.sync(client=client, **{name: value})
        expect(first.id in [n.id for n in page.data], f"nodes filtered by {name}", page)
    around = list_nodes.sync(client=client, near=f"{first.latitude},{first.longitude}", radius="10",
                             order=ListNodesOrder.DISTANCE, direction=ListNodesDirection.ASC)
    expect(around.data[0].distance == 0, "nodes by distance", around)
    walked = []
    for number in range(1, total + 1):
        page = list_nodes.sync(client=client, page=number, per_page=2, order=ListNodesOrder.COUNTRY)
        walked += [n.id for n in page.data]
        if page.meta.pagination.links.next_ is None:
            break
    expect(sorted(walked) == sorted(n.id for n in everything.data), "walking the pages")
    text = list_node_addresses.sync_detailed(client=anonymous)
    addresses = ok(text, "the text list").parsed
    expect(addresses.count("\n") == total, "the text list", addresses)
    blocks = ok(list_node_addresses.sync_detailed(client=anonymous, aggregate=ListNodeAddressesAggregate.CIDR,
                                                  family="4"), "the CIDR list with the defaults").parsed
    expect(blocks and all("/" in line for line in blocks.splitlines()), "the CIDR list", blocks)
    unchanged = list_node_addresses.sync_detailed(client=anonymous, if_none_match=text.headers["ETag"])
    ok(unchanged, "a conditional text list", 304)
    ok(head_list_node_addresses.sync_detailed(client=anonymous), "HEAD /nodes.txt")
    ok(head_list_nodes.sync_detailed(client=anonymous, country=first.country.code), "HEAD /nodes")
    version = text.headers["X-Data-Version"]

    # Writes: create, read, patch with If-Match, a stale tag's 412, delete; the change feed shows them.
    created = ok(create_node.sync_detailed(client=client, body=NodeInput(
        ip="2001:db8:feed::1", city=LONDON, asn=64500, network="Generated")), "create a node", 201)
    node = created.parsed.data.id
    tag = created.headers["ETag"]
    expect(created.headers["Location"] == f"/nodes/{node}", "the new node's Location")
    read = ok(get_node.sync_detailed(node, client=anonymous), "read the new node")
    expect(read.headers["ETag"] == tag and read.parsed.data.country.code == "GB", "read the new node")
    ok(head_get_node.sync_detailed(node, client=anonymous), "HEAD the new node")
    patched = ok(update_node.sync_detailed(node, client=client, body=NodePatch(asn=None, network="Patched"),
                                           if_match=tag), "patch with If-Match")
    expect(patched.parsed.data.asn is None and patched.parsed.data.network == "Patched", "the patch", patched)
    stale = ok(update_node.sync_detailed(node, client=client, body=NodePatch(asn=64501), if_match=tag),
               "patch with a stale tag", 412)
    expect(stale.headers["ETag"] == patched.headers["ETag"], "a 412 names the current tag")
    ok(delete_node.sync_detailed(node, client=client, if_match=patched.headers["ETag"]), "delete", 204)
    ok(get_node.sync_detailed(node, client=anonymous), "the deleted node", 404)
    changes = list_node_changes.sync(client=anonymous, after=int(version))
    expect([c.action.value for c in changes.data] == ["created", "updated", "removed"], "the change feed", changes)


if __name__ == "__main__":
    main(*sys.argv[1:5])
