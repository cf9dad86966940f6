"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by test_schemathesis.py).

A positive case is mended so that what makes it fail is a finding, not data the schema cannot know:
- the rules the document states in `x-dependencies`, which OpenAPI cannot say per parameter, are kept
  (`test_openapi.py` holds the server to exactly those rules);
- `after` on the change feed stays within the data (PERFOPS_DATA_VERSION, the version when the run began): a
  newer one is a 400 by contract, as an id no record has is a 404;
- a write names a node and a city that exist (PERFOPS_NODE_IDS, PERFOPS_CITY_IDS), chosen by the generated
  value, and a generated `If-Match` other than `*` is left out: a made-up tag is rightly a 412, and the real
  ones are sent by the stateful phase through the document's links.
Negative cases are sent as generated.
"""
import os
import zlib
from pathlib import Path

import schemathesis
import yaml
from schemathesis import GenerationMode

from tests.parameter_dependencies import keep, query_values, rules_of

DOCUMENT = yaml.safe_load((Path(__file__).parent.parent / "openapi.yaml").read_text())
WRITES = {("/nodes", "post"), ("/nodes/{node}", "patch"), ("/nodes/{node}", "delete")}


def _ids(name: str) -> list[int]:
    return [int(value) for value in os.environ[name].split(",")]


def _one_of(ids: list[int], generated) -> int:
    """One of `ids` chosen by the generated value, the same in every run (the run's seed reproduces it)."""
    return ids[zlib.crc32(str(generated).encode()) % len(ids)]


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is not None and meta.generation.mode != GenerationMode.POSITIVE:
        return case
    path, method = case.operation.path, case.method.lower()
    if case.query is not None:
        rules = rules_of(DOCUMENT, path, method)
        if rules:
            values = query_values(DOCUMENT, path, method)
            case.query = keep(case.query, rules, lambda name: values[name][0])
        if "after" in case.query:
            case.query["after"] = min(int(case.query["after"]), int(os.environ["PERFOPS_DATA_VERSION"]))
    if (path, method) in WRITES:
        if case.path_parameters and "node" in case.path_parameters:
            case.path_parameters["node"] = _one_of(_ids("PERFOPS_NODE_IDS"), case.path_parameters["node"])
        if isinstance(case.body, dict) and isinstance(case.body.get("city"), int):
            case.body["city"] = _one_of(_ids("PERFOPS_CITY_IDS"), case.body["city"])
        if case.headers and case.headers.get("If-Match", "*") != "*":
            del case.headers["If-Match"]
    return case
