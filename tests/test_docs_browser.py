"""/docs renders in a real headless browser with the network shut off: everything comes from the service.

Needs Chromium (`apt-get install chromium`; `.ci/run` installs it); skipped without it. Set
DOCS_SCREENSHOT=path to keep the screenshot (`make docs-screenshot` does).
"""
import json
import os
import shutil
import subprocess

import pytest

from tests.live_server import procfile_env, serve

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(url: str, profile, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}",
         # No network but this machine: every other host fails to resolve, and no proxy can reach out.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
         "--virtual-time-budget=15000", "--window-size=1280,1600", *extra, url],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_docs_render_offline(config, db, tmp_path):
    screenshot = os.environ.get("DOCS_SCREENSHOT") or str(tmp_path / "docs.png")
    with serve(procfile_env(config.database_url, workers=1)) as (base, server):
        dom = chromium(f"{base}/docs", tmp_path / "profile-dom", "--dump-dom")
        shot = chromium(f"{base}/docs", tmp_path / "profile-shot", f"--screenshot={screenshot}")
    html = dom.stdout
    # Swagger UI built the page from /openapi.json: the title, the tags and every operation are there.
    assert "PerfOps Core API" in html and "Failed to load API definition" not in html, html[-2000:]
    for text in ("/nodes.txt", "/auth/refresh", "/countries/{country}", "List Nodes", "Authorize"):
        assert text in html, text
    assert shot.returncode == 0 and os.path.getsize(screenshot) > 20_000
    # The page's scripts were served by this service.
    entries = [json.loads(line) for line in server.output.splitlines() if line.startswith("{")]
    assert any(e.get("path") == "/docs/static/swagger-ui-bundle.js" and e["status"] == 200 for e in entries)
