"""The OpenAPI document (JSON and YAML) and an interactive page whose assets the service serves itself.

Each is a body fixed at start-up: sent with its ETag and Last-Modified, gzip-coded once on first use, and
public to shared caches (contract §13)."""
from __future__ import annotations

import functools
import mimetypes
import threading
from importlib.util import find_spec
from pathlib import Path

import orjson
import yaml

from config import PROJECT_ROOT
from resources.coding import gzipped
from resources.conditional import send_representation
from resources.errors import not_found
from resources.representations import Representation

OPENAPI_PATH = PROJECT_ROOT / "openapi.yaml"
# Swagger UI's distribution, shipped inside the pinned swagger-ui-py package: no CDN, works offline. Found
# without importing the package, which would load Jinja2 (a few MiB per worker) for nothing we use.
SWAGGER_UI_ASSETS = Path(find_spec("swagger_ui").submodule_search_locations[0]) / "static"
# What the page loads (the package holds 25 MB of other builds and source maps nobody asks for).
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png")

DOCS_PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>PerfOps Core API</title>
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
  </script>
</body>
</html>
"""


class StaticBody:
    """A body that never changes while the process runs, its validators, and its gzip form once asked for."""

    def __init__(self, body: bytes, content_type: str, last_modified: int):
        self.representation = Representation.of(body, content_type, last_modified)
        self._gzip: bytes | None = None
        self._lock = threading.Lock()

    def gzip(self) -> bytes:
        if self._gzip is None:
            with self._lock:
                if self._gzip is None:
                    self._gzip = gzipped(self.representation.body)
        return self._gzip

    def send(self, req, resp, cache_control: str) -> None:
        send_representation(req, resp, self.representation, cache_control, self.gzip)


# libyaml's loader where PyYAML has it (its wheels do): the document parses in 0.03 s instead of 0.26.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=1)
def _as_json(document: bytes) -> bytes:
    """The YAML document as JSON, once per process for the same bytes (a test builds an app each time)."""
    return orjson.dumps(yaml.load(document, Loader=YAML_LOADER))


def _modified(path: Path) -> int:
    return int(path.stat().st_mtime)


class OpenApiDocument:
    """Read once at start-up; the bytes of both forms are served as they are."""

    def __init__(self, policy, path=OPENAPI_PATH):
        self.policy = policy
        text = path.read_bytes()
        self.yaml = StaticBody(text, "application/yaml", _modified(path))
        self.json = StaticBody(_as_json(text), "application/json", _modified(path))

    def on_get_json(self, req, resp):
        self.json.send(req, resp, self.policy.public)

    def on_get_yaml(self, req, resp):
        self.yaml.send(req, resp, self.policy.public)

    on_head_json = on_get_json
    on_head_yaml = on_get_yaml


class DocsPage:
    def __init__(self, policy):
        self.policy = policy
        self.page = StaticBody(DOCS_PAGE, "text/html; charset=utf-8", _modified(Path(__file__)))

    def on_get(self, req, resp):
        self.page.send(req, resp, self.policy.public)

    on_head = on_get


class DocsAssets:
    """/docs/static/{name}: Swagger UI's files, each read when first asked for."""

    def __init__(self, policy, folder: Path = SWAGGER_UI_ASSETS):
        self.policy = policy
        self.folder = folder
        self._bodies: dict[str, StaticBody] = {}
        self._lock = threading.Lock()

    def on_get(self, req, resp, name):
        if name not in DOCS_ASSETS:
            raise not_found(f"No documentation asset {name!r}.")
        body = self._bodies.get(name)
        if body is None:
            with self._lock:
                body = self._bodies.get(name)
                if body is None:
                    path = self.folder / name
                    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                    if kind.startswith("text/") or kind.endswith("javascript"):
                        kind += "; charset=utf-8"
                    body = self._bodies[name] = StaticBody(path.read_bytes(), kind, _modified(path))
        body.send(req, resp, self.policy.public)

    on_head = on_get
