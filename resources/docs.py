"""The OpenAPI document (JSON and YAML) and an interactive page whose assets the service serves itself."""
from importlib.util import find_spec
from pathlib import Path

import orjson
import yaml

from config import PROJECT_ROOT

OPENAPI_PATH = PROJECT_ROOT / "openapi.yaml"
# Swagger UI's distribution, shipped inside the pinned swagger-ui-py package: no CDN, works offline. Found
# without importing the package, which would load Jinja2 (a few MiB per worker) for nothing we use.
SWAGGER_UI_ASSETS = str(Path(find_spec("swagger_ui").submodule_search_locations[0]) / "static")

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


class OpenApiDocument:
    """Read once at start-up; the bytes of both forms are served as they are."""

    def __init__(self, path=OPENAPI_PATH):
        self.yaml = path.read_bytes()
        self.json = orjson.dumps(yaml.safe_load(self.yaml))

    def on_get_json(self, req, resp):
        resp.content_type = "application/json"
        resp.data = self.json

    def on_get_yaml(self, req, resp):
        resp.content_type = "application/yaml"
        resp.data = self.yaml

    on_head_json = on_get_json
    on_head_yaml = on_get_yaml


class DocsPage:
    def on_get(self, req, resp):
        resp.content_type = "text/html; charset=utf-8"
        resp.data = DOCS_PAGE

    on_head = on_get
