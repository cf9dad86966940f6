"""Schemathesis against a live instance: gunicorn from the Procfile on a throwaway database (migrated, seeded
with make run's 1,000 demo nodes), as the demo user of the document's login example, who may write nodes.

Every documented operation, the writes included, is exercised with the document's examples, boundary cases,
generated data and stateful sequences along the document's links; every check runs (server errors, status
codes, content types, headers, response schemas, acceptance of valid and rejection of invalid data, auth
enforcement), and the run must report nothing, warnings included. No 400 is allowed for schema-valid data:
parameters that depend on each other are stated in `x-dependencies` and kept by the hooks
(tests/schemathesis_hooks.py), which also give writes nodes and cities that exist. What the data alone decides
is allowed: 401 (credentials that match no user), 404 (an id no record has), 409 (an address another node
holds), 412 (a node changed since its ETag, or a version ahead of the data), 422 (a city that does not exist),
429 (logins after five failures), 304 (`If-None-Match: *` on a record that exists). The number of examples
is bounded so the run fits CI; the seed is fixed so a failure reproduces.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resources.docs import OPENAPI_PATH
from tests.contract import DOCUMENT
from tests.live_server import ROOT, get, manage, post_json, procfile_env, serve

pytestmark = [pytest.mark.slow, pytest.mark.long]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 25
DEMO_NODES = 1000  # make run's demo, on which the document's examples succeed
SEED = 20231003
ACCEPTED = ["2XX", "304", "401", "403", "404", "409", "412", "422", "429"]
METRICS_TOKEN = "a-metrics-token-for-schemathesis"
# The document's own login example, so that its examples (and /docs' "Try it out") succeed as written.
LOGIN = (DOCUMENT["paths"]["/auth"]["post"]["requestBody"]["content"]["application/json"]
         ["examples"]["password"]["value"])


def config(token: str) -> str:
    return f"""
[checks.positive_data_acceptance]
expected-statuses = {ACCEPTED}

[auth.openapi.bearerAuth]
bearer = "{token}"

[auth.openapi.metricsToken]
bearer = "{METRICS_TOKEN}"
"""


def test_schemathesis_finds_nothing(throwaway_url, tmp_path):
    env = procfile_env(throwaway_url, workers=2, METRICS_TOKEN=METRICS_TOKEN)
    manage(env, "release")
    manage(env, "seed", "--demo-nodes", str(DEMO_NODES))
    manage(env, "createuser", LOGIN["username"], "--name", "Demo User", "--email", "demo@example.com", "--role",
           "trial", "--permission", "nodes:write", "--password-stdin", stdin=LOGIN["password"] + "\n")
    with serve(env) as (base, _):
        (tmp_path / "schemathesis.toml").write_text(config(post_json(f"{base}/auth", LOGIN)["data"]["token"]))
        _, headers, body = get(f"{base}/nodes?perPage=1000")
        nodes = json.loads(body)["data"]
        run = subprocess.run(
            [str(SCHEMATHESIS if SCHEMATHESIS.exists() else shutil.which("schemathesis")),
             "--config-file", str(tmp_path / "schemathesis.toml"), "run",
             str(OPENAPI_PATH), "--url", base, "--checks", "all", "--max-examples", str(MAX_EXAMPLES),
             "--seed", str(SEED), "--workers", "1", "--report", "junit", "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=900,
            env={**env, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT),
                 "PERFOPS_DATA_VERSION": headers["X-Data-Version"],
                 "PERFOPS_NODE_IDS": ",".join(str(node["id"]) for node in nodes),
                 "PERFOPS_CITY_IDS": ",".join(sorted({str(node["city"]["id"]) for node in nodes}))},
        )
    summary = re.findall(r"^\s*(\d+ generated.*|Tested: \d+.*|Selected: .*|Operations: .*)$", run.stdout, re.MULTILINE)
    print("schemathesis:", "; ".join(summary))
    assert run.returncode == 0, run.stdout[-8000:]
    operations = sum(method in ("get", "head", "post", "patch", "put", "delete")
                     for item in DOCUMENT["paths"].values() for method in item)
    assert re.search(rf"Tested: {operations}\b", run.stdout), run.stdout[-3000:]
    # Nothing reported at all: no warning (auth that never worked, data mostly refused) either.
    assert "WARNINGS" not in run.stdout and "⚠" not in run.stdout, run.stdout[-5000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}\b", run.stdout), run.stdout[-3000:]
    # The stateful phase follows the document's own links (create, then read, change or remove with the ETag).
    declared = sum(len(response.get("links", {})) for item in DOCUMENT["paths"].values()
                   for operation in item.values() for response in operation.get("responses", {}).values())
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected / \d+ total \((\d+) inferred\)", run.stdout)
    assert declared == 7 and links, run.stdout[-3000:]
    assert int(links[2]) - int(links[3]) == declared and int(links[1]) > 0, run.stdout[-3000:]
