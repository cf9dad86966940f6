"""Clients generated from openapi.yaml, as client authors would make them, run a client author's workflow
against gunicorn from the Procfile with their generators' defaults.

openapi-python-client (tests/generated_client_workflow.py): login with a one-time password, refresh, every list
with its filters, orderings and pages, the text and CIDR lists, HEAD, a 304, a node created, patched with
If-Match, refused with a stale tag (412) and deleted, and the change feed showing it all. Its only complaint must
be the one it makes about every document it cannot model: the YAML copy of the document (`GET /openapi.yaml`,
`application/yaml`) is left out of the client; `/openapi.json` is in it.

OpenAPI Generator's `python` client (tests/openapi_generator_workflow.py; the generator is a Java program, so
this one is skipped, saying so, where no `java` is installed): the same workflow in its idiom.
"""
import contextlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data import LONDON, PARIS, TOKYO, PASSWORD
from tests.live_server import ROOT, manage, procfile_env, serve

pytestmark = pytest.mark.slow
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
OPENAPI_GENERATOR = Path(sys.executable).parent / "openapi-generator-cli"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The folder holding the generated package `perfops_client`."""
    folder = tmp_path_factory.mktemp("generated")
    (folder / "config.yaml").write_text("project_name_override: perfops-client\n"
                                        "package_name_override: perfops_client\n")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(ROOT / "openapi.yaml"), "--config", str(folder / "config.yaml"),
         "--meta", "none", "--output-path", str(folder / "perfops_client")],
        cwd=folder, capture_output=True, text=True, timeout=300,
        env={"PATH": f"{GENERATOR.parent}:/usr/bin:/bin"},  # its ruff formats what it wrote
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    warnings = re.findall(r"^WARNING parsing (.*)$", said, re.MULTILINE)
    assert warnings == ["GET /openapi.yaml within documentation."], said
    assert "Unsupported content_type application/yaml" in said and "ruff is not in PATH" not in said
    return folder


@pytest.fixture(scope="module")
def generated_by_openapi_generator(tmp_path_factory) -> Path:
    """The folder holding the package `perfops_oag` that OpenAPI Generator made."""
    if shutil.which("java") is None:
        pytest.skip("OpenAPI Generator needs Java: install a JRE (17 or later) to run this test")
    folder = tmp_path_factory.mktemp("openapi-generator")
    result = subprocess.run(
        [str(OPENAPI_GENERATOR), "generate", "--input-spec", str(ROOT / "openapi.yaml"), "--generator-name", "python",
         "--output", str(folder), "--package-name", "perfops_oag"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return folder


@contextlib.contextmanager
def author_and_server(database_url: str, tmp_path: Path):
    """A released database with four nodes, a client author enrolled with two factors who may write nodes, and
    gunicorn serving it; yields (base URL, server, the author's TOTP secret)."""
    env = procfile_env(database_url, workers=2)
    manage(env, "release")
    (tmp_path / "nodes.csv").write_text(f"ip,city,asn,network\n192.0.2.1,{LONDON},64496,Example\n"
                                        f"2001:db8::1,{PARIS},64497,\n198.51.100.7,{TOKYO},64497,Another\n"
                                        f"192.0.2.9,{LONDON},64496,Example\n")
    manage(env, "import-nodes", str(tmp_path / "nodes.csv"))
    enrolled = manage(env, "createuser", "author", "--name", "Client Author", "--email", "author@example.com",
                      "--role", "service", "--permission", "nodes:write", "--otp", "--password-stdin",
                      stdin=PASSWORD + "\n")
    secret = re.search(r"otpauth://\S*[?&]secret=([A-Z2-7]+)", enrolled).group(1)
    with serve(env) as (base, server):
        yield env, base, server, secret


@pytest.mark.parametrize("workflow", ["generated_client_workflow.py", "openapi_generator_workflow.py"])
def test_a_generated_client_runs_the_whole_workflow(throwaway_url, request, tmp_path, workflow):
    package = request.getfixturevalue("generated" if workflow.startswith("generated")
                                      else "generated_by_openapi_generator")
    with author_and_server(throwaway_url, tmp_path) as (env, base, server, secret):
        run = subprocess.run([sys.executable, str(ROOT / "tests" / workflow), base, "author", PASSWORD, secret],
                             env={**env, "PYTHONPATH": str(package)}, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert '"status":500' not in server.output
