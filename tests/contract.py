"""Every response the suite sees is checked against openapi.yaml.

`ContractClient` is a falcon.testing.TestClient that, after each request, finds the documented operation
and response for what came back and validates the status, the media type, the documented headers and
the body against the document's JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses).
"""
import gzip
import re
from functools import cache

import orjson
import yaml
from falcon import testing
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from resources.docs import OPENAPI_PATH, YAML_LOADER

DOCUMENT = yaml.load(OPENAPI_PATH.read_text(), Loader=YAML_LOADER)
REGISTRY = Registry().with_resource("openapi", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
PROBLEM = "application/problem+json"


class ContractViolation(AssertionError):
    pass


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _resolve(pointer: str) -> tuple[str, dict]:
    """Follow $ref objects (as OpenAPI uses them outside schemas) to a pointer and its object."""
    node = DOCUMENT
    for token in pointer.lstrip("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    if isinstance(node, dict) and "$ref" in node and len(node) == 1:
        return _resolve(node["$ref"])
    return pointer, node


@cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"openapi{pointer}"}, registry=REGISTRY)


@cache
def _operations() -> list[tuple[re.Pattern, str]]:
    return [(re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in DOCUMENT["paths"]]


def _validate(pointer: str, instance, what: str) -> None:
    errors = sorted(_validator(pointer).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        raise ContractViolation(f"{what} does not match {pointer}: {error.message[:500]} at {list(error.absolute_path)}")


def check(method: str, path: str, result) -> None:
    path = path.split("?", 1)[0]
    if method.upper() == "OPTIONS":  # Falcon's, or CORS preflight
        return
    # The decoded body: what the document describes is the representation, whatever its coding.
    content = gzip.decompress(result.content) if result.headers.get("content-encoding") == "gzip" else result.content
    media_type = (result.headers.get("content-type") or "").split(";")[0].strip()
    template = next((template for pattern, template in _operations() if pattern.match(path)), None)
    operation = DOCUMENT["paths"].get(template, {}).get(method.lower()) if template else None
    what = f"{method} {path} -> {result.status_code}"
    if operation is None:
        # Not an operation of the API: an unknown path (404) or method (405), or a body over the
        # limit, refused before routing (413).
        if result.status_code not in (404, 405, 413) or media_type != PROBLEM:
            raise ContractViolation(f"{what}: an undocumented operation must be a 404/405/413 problem")
        _validate("#/components/schemas/Problem", orjson.loads(content), what)
        return
    responses_pointer = f"#/paths/{_escape(template)}/{method.lower()}/responses"
    status = str(result.status_code)
    if status not in operation["responses"]:
        raise ContractViolation(f"{what}: status {status} is not documented for {method} {template}")
    pointer, response = _resolve(f"{responses_pointer}/{status}")
    for name, header in response.get("headers", {}).items():
        header_pointer, header = _resolve(f"{pointer}/headers/{_escape(name)}")
        value = result.headers.get(name)
        if value is None:
            if header.get("required"):
                raise ContractViolation(f"{what}: the documented header {name} is missing")
            continue
        _validate(f"{header_pointer}/schema", value, f"{what} header {name}")
    documented = response.get("content")
    if method.upper() == "HEAD":  # the headers GET would send, never a body (RFC 9110 §9.3.2)
        if result.content:
            raise ContractViolation(f"{what}: a HEAD answer has a body")
        if documented and result.status_code != 304 and media_type not in documented:
            raise ContractViolation(f"{what}: media type {media_type!r} is not one of {sorted(documented)}")
        return
    if not documented:
        if result.content:
            raise ContractViolation(f"{what}: a body where none is documented")
        return
    if media_type not in documented:
        raise ContractViolation(f"{what}: media type {media_type!r} is not one of {sorted(documented)}")
    if media_type.endswith("json"):
        body = orjson.loads(content)
    elif media_type.endswith("yaml"):
        body = yaml.load(content, Loader=YAML_LOADER)
    elif media_type.startswith("image/"):
        return  # bytes, which a JSON schema cannot describe
    else:
        body = content.decode()
    _validate(f"{pointer}/content/{_escape(media_type)}/schema", body, what)


class ContractClient(testing.TestClient):
    def simulate_request(self, *args, **kwargs):
        result = super().simulate_request(*args, **kwargs)
        method = kwargs.get("method", args[0] if args else "GET")
        path = kwargs.get("path", args[1] if len(args) > 1 else "/")
        check(method, path, result)
        return result
