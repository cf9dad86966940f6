"""The OpenAPI document: valid, served, in step with the code, and its examples true to its schemas."""
import ipaddress
import re
from urllib.parse import urlencode

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from resources.docs import OPENAPI_PATH
from resources.locations import CITIES, COUNTRIES, REGIONS
from resources.nodes import NODES
from tests.contract import DOCUMENT, _escape, _validate
from tests.parameter_dependencies import keep, query_values, rules_of
from tests.helpers import examples

LISTS = {"/regions": REGIONS, "/countries": COUNTRIES, "/cities": CITIES, "/nodes": NODES, "/nodes.txt": NODES}


def test_the_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"] == "3.1.0"
    validate(DOCUMENT)


def test_every_route_of_the_app_is_documented(app):
    routes = set()

    def walk(nodes, prefix=""):
        for node in nodes:
            path = f"{prefix}/{node.raw_segment}"
            if node.resource is not None:
                routes.add(re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path))
            walk(node.children, path)

    walk(app._router._roots)
    # /metrics is routed only when METRICS_TOKEN is set (test_metrics.py).
    assert routes | {"/metrics"} == set(DOCUMENT["paths"])


def parameters(path: str) -> dict:
    resolved = {}
    for parameter in DOCUMENT["paths"][path]["get"].get("parameters", []):
        if "$ref" in parameter:
            parameter = DOCUMENT["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        resolved[parameter["name"]] = parameter
    return resolved


@pytest.mark.parametrize("path", sorted(LISTS))
def test_list_parameters_are_those_the_code_accepts(path):
    spec = LISTS[path]
    documented = parameters(path)
    assert set(documented) - {"If-None-Match", "If-Modified-Since", "X-Min-Data-Version"} == set(spec.parameters)
    order = documented["order"]["schema"]
    assert order["enum"] == spec.query_schema.fields["order"].validate.choices
    assert ("distance" in order["enum"]) == ("near" in documented) == (spec.near is not None)
    default = spec.query_schema.fields["order"].load_default
    if "aggregate" in documented:
        # No schema default where `order` is refused beside `aggregate`: a generated client sends schema
        # defaults, so the default is only described.
        assert "default" not in order and f"Defaults to `{default}`" in documented["order"]["description"]
        assert "default" not in documented["direction"]["schema"]
    else:
        assert order["default"] == default
    assert documented["perPage"]["schema"]["maximum"] == 1000 and documented["perPage"]["schema"]["default"] == 50


DEPENDENT = sorted(path for path in LISTS if "x-dependencies" in DOCUMENT["paths"][path]["get"])


def test_the_lists_with_dependent_parameters_state_them():
    assert DEPENDENT == ["/cities", "/nodes", "/nodes.txt"]
    for item in DOCUMENT["paths"].values():
        if "x-dependencies" in item.get("get", {}):
            assert item["head"]["x-dependencies"] == item["get"]["x-dependencies"]


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_combination_is_a_400_exactly_when_it_breaks_a_stated_dependency(client, data):
    """`x-dependencies` is the whole truth: any choice of the list's parameters (each with a documented value)
    is a 400 naming a parameter of a broken rule when it breaks one, else a 200; `keep` mends any choice."""
    path = data.draw(st.sampled_from(DEPENDENT))
    rules = rules_of(DOCUMENT, path)
    values = query_values(DOCUMENT, path)
    query = {name: data.draw(st.sampled_from(choices)) for name, choices in values.items() if data.draw(st.booleans())}
    answer = client.simulate_get(path, query_string=urlencode(query))
    broken = [rule for rule in rules if rule.broken_by(query)]
    if broken:
        assert answer.status_code == 400, (query, answer.text)
        assert set(answer.json["errors"]) & {name for rule in broken for name in (rule.when, rule.then)}
    else:
        assert answer.status_code == 200, (query, answer.text)
    mended = keep(query, rules, lambda name: values[name][0])
    assert not any(rule.broken_by(mended) for rule in rules)
    assert client.simulate_get(path, query_string=urlencode(mended)).status_code == 200, mended


def document_examples():
    """Every media-type example in the document, with the pointer of its schema."""
    found = []

    def walk(node, pointer):
        if isinstance(node, dict):
            if "schema" in node and ("example" in node or "examples" in node) and pointer.count("/content/"):
                values = [node["example"]] if "example" in node else [e["value"] for e in node["examples"].values()]
                found.extend((f"{pointer}/schema", value) for value in values)
            for key, value in node.items():
                walk(value, f"{pointer}/{_escape(str(key))}")

    walk(DOCUMENT, "#")
    return found


@pytest.mark.parametrize("pointer, example", document_examples())
def test_examples_match_their_schemas(pointer, example):
    _validate(pointer, example, f"the example at {pointer}")


def test_the_document_is_served_as_json_and_yaml(anonymous):
    as_json = anonymous.simulate_get("/openapi.json")
    assert as_json.status_code == 200 and orjson.loads(as_json.content) == DOCUMENT
    as_yaml = anonymous.simulate_get("/openapi.yaml", headers={"Accept": "text/html"})
    assert as_yaml.headers["content-type"] == "application/yaml"
    assert as_yaml.content == OPENAPI_PATH.read_bytes() and yaml.safe_load(as_yaml.content) == DOCUMENT


def test_the_docs_page_loads_only_assets_the_service_serves(anonymous):
    page = anonymous.simulate_get("/docs")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r'url: "([^"]+)"', page.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
    for url in urls:
        asset = anonymous.simulate_get(url)
        assert asset.status_code == 200 and asset.content, url


def _accepted(client, parameter: str, value: str) -> bool:
    result = client.simulate_get("/regions", query_string=urlencode({parameter: value}))
    assert result.status_code in (200, 400), result.text
    return result.status_code == 200


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=' ",aBé\t\x00\x7f', max_size=10))
# Values of quotes alone: `""""""` is the value `""` (accepted), `" "` and `""` are empty (refused).
@example(value='""""""')
@example(value='""""')
@example(value='" "')
@example(value='""')
@example(value='a,""""')
def test_the_text_list_pattern_is_exactly_what_the_service_accepts(client, value):
    pattern = re.compile(DOCUMENT["components"]["schemas"]["TextList"]["pattern"])
    assert bool(pattern.search(value)) == _accepted(client, "name", value)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet='0129+-" ,x.\t', max_size=10))
def test_the_integer_list_pattern_is_exactly_what_the_service_accepts(client, value):
    pattern = re.compile(DOCUMENT["components"]["schemas"]["IntegerList"]["pattern"])
    assert bool(pattern.search(value)) == _accepted(client, "id", value)


def _number(draw_digits):
    return st.builds(lambda sign, whole, point, fraction: sign + whole + point + fraction,
                     st.sampled_from(["", "+", "-", " "]), draw_digits, st.sampled_from(["", ".", ". "]), draw_digits)


DIGITS = st.one_of(st.text(alphabet="0", max_size=22), st.from_regex(r"\A0{0,19}[0-9]{0,4}\Z"),
                   st.sampled_from(["90", "91", "180", "181", "20038", "20039", "20037", "8" * 21]))


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(latitude=_number(DIGITS), longitude=_number(DIGITS), separator=st.sampled_from([",", ", ", ";"]))
@example(latitude="90.0", longitude="-180", separator=",")
@example(latitude="90.01", longitude="0", separator=",")
@example(latitude="91", longitude="0", separator=",")
@example(latitude="0", longitude="-181", separator=",")
@example(latitude="00000000000000000089.99999999999999999999", longitude="00000000000000000179.9", separator=",")
@example(latitude="0", longitude="180.000000000000000000001", separator=",")
@example(latitude="90.000000000000001", longitude="0", separator=",")  # a float of 90.0, above 90
def test_the_point_pattern_is_exactly_what_the_service_accepts(anonymous, latitude, longitude, separator):
    value = f"{latitude}{separator}{longitude}"
    pattern = re.compile(DOCUMENT["components"]["parameters"]["near"]["schema"]["pattern"])
    answer = anonymous.simulate_get("/nodes", query_string=urlencode({"near": value, "radius": "300"}))
    assert bool(pattern.search(value)) == (answer.status_code == 200), (value, answer.text)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(radius=_number(DIGITS))
@example(radius="20038.000")
@example(radius="20038.001")
@example(radius="0.000")
@example(radius=".00000000000000000001")
@example(radius="20038.000000000001")  # a float of 20038.0: was accepted, and the pattern refuses it
def test_the_radius_pattern_is_exactly_what_the_service_accepts(anonymous, radius):
    pattern = re.compile(DOCUMENT["components"]["parameters"]["radius"]["schema"]["pattern"])
    answer = anonymous.simulate_get("/nodes", query_string=urlencode({"near": "0,0", "radius": radius}))
    assert bool(pattern.search(radius)) == (answer.status_code == 200), (radius, answer.text)


# Addresses in and near every refused range, spelt every way ipaddress reads them.
REFUSED_NETWORKS = ["0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32", "ff00::/8", "::/96",
                    "::ffff:0:0/96", "::1:0:0/96", "fe00::/8", "1.0.0.0/8", "128.0.0.0/8", "240.0.0.0/4"]


@st.composite
def address_spellings(draw):
    network = ipaddress.ip_network(draw(st.sampled_from(REFUSED_NETWORKS)))
    address = draw(st.one_of(st.ip_addresses(network=network), st.ip_addresses(),
                             st.sampled_from([network.network_address, network.broadcast_address])))
    if address.version == 4:
        return str(address)
    groups = address.exploded.split(":")
    groups = [group.lstrip("0") or "0" if draw(st.booleans()) else group for group in groups]
    if draw(st.booleans()):  # the last 32 bits as dotted IPv4
        groups[6:] = [str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))]
    text = ":".join(groups)
    zero_runs = [m.span() for m in re.finditer(r"(?:^|(?<=:))0{1,4}(?::0{1,4})*(?=:|$)", text)]
    if zero_runs and draw(st.booleans()):
        start, end = draw(st.sampled_from(zero_runs))  # written as "::" (not always the longest run)
        text = (text[:start] or ":") + (text[end:] or ":")
    return text.upper() if draw(st.booleans()) else text


NODE_ADDRESS = Draft202012Validator(DOCUMENT["components"]["schemas"]["NodeAddress"],
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)


# Spellings at the edges of the grammar and of the refused ranges.
ADDRESS_EDGES = ["01.2.3.4", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:1.2.3.4", "0:0:0:0:0:0:5::", "0:0:0:0:0:ffff::",
                 "::ffff:1.2.3.4", "fe80::1%eth0", "::ffff"]


def _address_agrees_with_the_schema(writer, text: str) -> None:
    """A write's address is refused (422 on `ip`) exactly when the document's NodeAddress says it is not one;
    PATCH of a node that does not exist checks the body first, so nothing is written."""
    answer = writer.simulate_patch("/nodes/9000000000", json={"ip": text})
    assert answer.status_code in (404, 422), answer.text
    assert NODE_ADDRESS.is_valid(text) == (answer.status_code == 404), (text, answer.text)


@pytest.mark.parametrize("text", ADDRESS_EDGES)
def test_the_node_address_schema_agrees_with_the_service_at_the_edges(writer, text):
    _address_agrees_with_the_schema(writer, text)


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(address_spellings(), st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=24)))
def test_the_node_address_schema_is_exactly_what_the_service_accepts(writer, text):
    _address_agrees_with_the_schema(writer, text)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.integers(0, 10**19).map(str), st.integers(2**63 - 10**4, 2**63 + 10**4).map(str),
                       st.text(alphabet="0129 \t-+.", max_size=21)))
@example(value=str(2**63 - 1))
@example(value=str(2**63))
@example(value="\t 5 ")
def test_the_data_version_pattern_is_exactly_what_the_service_accepts(client, value):
    """A version the pattern allows is never a 400 (a 412 when no data has reached it); any other is."""
    pattern = re.compile(DOCUMENT["components"]["parameters"]["minDataVersion"]["schema"]["pattern"])
    answer = client.simulate_get("/regions", headers={"X-Min-Data-Version": value})
    assert answer.status_code in (200, 400, 412), answer.text
    assert bool(pattern.search(value)) == (answer.status_code != 400), (value, answer.text)
