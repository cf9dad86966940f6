"""The OpenAPI document: valid, served, in step with the code, and its examples true to its schemas."""
import re
from urllib.parse import urlencode

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from resources.docs import OPENAPI_PATH
from resources.locations import CITIES, COUNTRIES, REGIONS
from resources.nodes import NODES
from tests.contract import DOCUMENT, _escape, _validate

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


def examples():
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


@pytest.mark.parametrize("pointer, example", examples())
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet='0129+-" ,x.\t', max_size=10))
def test_the_integer_list_pattern_is_exactly_what_the_service_accepts(client, value):
    pattern = re.compile(DOCUMENT["components"]["schemas"]["IntegerList"]["pattern"])
    assert bool(pattern.search(value)) == _accepted(client, "id", value)
