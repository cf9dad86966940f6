"""Schemathesis against a live instance: gunicorn from the Procfile on a seeded database, with a token.

Every documented operation is exercised with examples, boundary cases, generated data and stateful
sequences; every check runs (server errors, status codes, content types, headers, response schemas,
acceptance of valid and rejection of invalid data, auth enforcement). The number of examples is bounded
so the run fits CI; the seed is fixed so a failure reproduces.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resources.docs import OPENAPI_PATH
from tests.conftest import PASSWORD, make_user
from tests.contract import DOCUMENT
from tests.live_server import post_json, procfile_env, serve

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 25
SEED = 20231003


def test_schemathesis_finds_nothing(config, nodes, tmp_path):
    make_user("schemathesis")
    with serve(procfile_env(config.database_url, workers=2)) as (base, _):
        token = post_json(f"{base}/auth", {"username": "schemathesis", "password": PASSWORD})["data"]["token"]
        run = subprocess.run(
            [str(SCHEMATHESIS if SCHEMATHESIS.exists() else shutil.which("schemathesis")), "run",
             str(OPENAPI_PATH), "--url", base, "--checks", "all", "--max-examples", str(MAX_EXAMPLES),
             "--seed", str(SEED), "--workers", "1", "--header", f"Authorization: Bearer {token}",
             "--report", "junit", "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=600,
        )
    summary = re.findall(r"^\s*(\d+ generated.*|Tested: \d+.*|Selected: .*|Operations: .*)$", run.stdout, re.MULTILINE)
    print("schemathesis:", "; ".join(summary))
    assert run.returncode == 0, run.stdout[-6000:]
    operations = sum(method in ("get", "head", "post", "patch", "put", "delete")
                     for item in DOCUMENT["paths"].values() for method in item)
    assert re.search(rf"Tested: {operations}\b", run.stdout), run.stdout[-3000:]
