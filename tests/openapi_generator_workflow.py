"""A client author's workflow through the client OpenAPI Generator (`-g python`) made from openapi.yaml, with
its defaults: run by tests/test_generated_client.py as

    python openapi_generator_workflow.py BASE_URL USERNAME PASSWORD OTP_SECRET

with the generated package `perfops_oag` on PYTHONPATH. Exits non-zero naming the first step that failed.
What this generator got wrong once is checked by name: the login's `{"data": ...}` body, node addresses as
plain strings, timestamps as aware datetimes, and the parameters the document shares by `$ref`.
"""
import inspect
import sys
from datetime import timezone

import perfops_oag
import pyotp
from perfops_oag.exceptions import ApiException
from perfops_oag.models import LoginRequest, NodeInput, NodePatch, PasswordLogin, PasswordLoginOtp

LONDON = 2643743


def expect(condition, step: str, detail=None) -> None:
    if not condition:
        sys.exit(f"OpenAPI Generator client: {step} failed: {detail!r}")


def refused(call, step: str, status: int) -> ApiException:
    try:
        answer = call()
    except ApiException as error:
        expect(error.status == status, step, (error.status, error.body))
        return error
    expect(False, step, answer)


def header(answer, name: str) -> str:
    """A response header, whatever the case this client keeps its names in."""
    return {key.lower(): value for key, value in answer.headers.items()}[name.lower()]


def main(base: str, username: str, password: str, otp_secret: str) -> None:
    configuration = perfops_oag.Configuration(host=base)
    client = perfops_oag.ApiClient(configuration)
    auth, locations, nodes = perfops_oag.AuthApi(client), perfops_oag.LocationsApi(client), perfops_oag.NodesApi(client)
    expect(perfops_oag.GeneralApi(client).ping().version, "ping")

    # Login with the second factor: the body is `{"data": Token}`, then refresh.
    otp = PasswordLoginOtp(pyotp.TOTP(otp_secret).now())
    login = auth.authenticate(LoginRequest(PasswordLogin(username=username, password=password, otp=otp)))
    expect(login.data.token_type == "Bearer" and login.data.expires_in > 0, "login", login)
    configuration.access_token = login.data.token
    refreshed = auth.refresh_token()
    expect(refreshed.data.token != "" and refreshed.data.expires_at.tzinfo is not None, "refresh", refreshed)
    configuration.access_token = refreshed.data.token

    # The parameters the document shares by `$ref` are all in the generated signatures.
    for method, names in ((nodes.list_nodes, ["page", "per_page", "order", "direction", "id", "country", "city",
                                               "region", "asn", "family", "near", "radius", "aggregate",
                                               "if_none_match", "if_modified_since", "x_min_data_version"]),
                          (nodes.update_node, ["node", "node_patch", "if_match", "if_none_match"]),
                          (locations.list_cities, ["page", "per_page", "near", "radius", "x_min_data_version"])):
        missing = set(names) - set(inspect.signature(method).parameters)
        expect(not missing, f"the parameters of {method.__name__}", missing)

    # Locations.
    expect(locations.get_country("GB").data.iso3 == "GBR", "a country")
    expect({c.code for c in locations.list_countries(name='"Korea, Republic of",France').data} == {"FR", "KR"},
           "countries by quoted names")
    near = locations.list_cities(near="51.5074,-0.1278", radius="25", order="distance")
    expect(near.data[0].name == "London" and near.data[0].distance < 1, "cities near London", near.data[:1])
    expect(locations.list_regions(continent="EU", per_page=2).meta.pagination.per_page == 2, "regions")

    # Nodes: filters, distance, timestamps, the text and CIDR lists, HEAD.
    everything = nodes.list_nodes(per_page=1000)
    first = everything.data[0]
    expect(isinstance(first.ip, str), "an address as a string", first.ip)
    expect(first.created_at.tzinfo is not None and first.created_at.utcoffset() == timezone.utc.utcoffset(None),
           "a timestamp as an aware UTC datetime", first.created_at)
    expect(first.id in [n.id for n in nodes.list_nodes(country=first.country.code, family="4,6").data], "filters")
    around = nodes.list_nodes(near=f"{first.latitude},{first.longitude}", radius="10", order="distance")
    expect(around.data[0].distance == 0, "nodes by distance", around)
    text = nodes.list_node_addresses()
    expect(text.count("\n") == everything.meta.pagination.total, "the text list", text)
    blocks = nodes.list_node_addresses(aggregate="cidr", family="4")
    expect(blocks and all("/" in line for line in blocks.splitlines()), "the CIDR list", blocks)
    nodes.head_list_nodes(country=first.country.code)

    # Writes: create, patch with the ETag as If-Match, a stale tag's 412, delete.
    created = nodes.create_node_with_http_info(NodeInput(ip="2001:db8:feed::2", city=LONDON, asn=64500,
                                                         network="Generated"))
    expect(created.status_code == 201 and created.data.data.ip == "2001:db8:feed::2", "create a node", created)
    node, tag = created.data.data.id, header(created, "ETag")
    patched = nodes.update_node_with_http_info(node, NodePatch(network="Patched"), if_match=tag)
    expect(patched.data.data.network == "Patched", "patch with If-Match", patched)
    refused(lambda: nodes.update_node(node, NodePatch(asn=64501), if_match=tag), "patch with a stale tag", 412)
    nodes.delete_node(node, if_match=header(patched, "ETag"))
    refused(lambda: nodes.get_node(node), "the deleted node", 404)
    changes = nodes.list_node_changes(after=int(header(created, "X-Data-Version")) - 1)
    expect([c.action for c in changes.data] == ["created", "updated", "removed"], "the change feed", changes)


if __name__ == "__main__":
    main(*sys.argv[1:5])
