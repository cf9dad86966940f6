"""docs/api.md's sidecar (deploy/follow-nodes.py), run for real against gunicorn: it follows the change feed,
and reads the whole list again when the feed says the history is gone (410)."""
import signal
import subprocess
import sys
import time

import pytest

from models.database import write_transaction
from models.node_changes import prune_change_log
from models.node_writes import NodeRow, create_node, delete_node, update_node
from tests.data import LONDON, PARIS
from tests.live_server import ROOT, get, procfile_env, serve


def served(base: str) -> str:
    return "".join(sorted(f"{line}\n" for line in get(f"{base}/nodes.txt?family=4")[2].decode().splitlines()))


def until_equal(path, base: str, present=(), absent=()) -> None:
    """Until the file is the service's IPv4 list, and that list has (and has not) the addresses given."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else None
        if (text == served(base) and all(f"{ip}\n" in text for ip in present)
                and not any(f"{ip}\n" in text for ip in absent)):
            return
        time.sleep(0.1)
    raise AssertionError(f"{path.read_text() if path.exists() else None!r} != {served(base)!r}")


@pytest.mark.slow
def test_the_sidecar_follows_changes_and_starts_over_when_history_is_gone(config, nodes, tmp_path):
    out = tmp_path / "allow.txt"
    with serve(procfile_env(config.database_url, workers=2)) as (base, _):
        sidecar = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "follow-nodes.py"), "--url", base,
                                    "--out", str(out), "--query", "family=4", "--every", "0.2"],
                                   stderr=subprocess.PIPE, text=True)
        try:
            until_equal(out, base)
            added = create_node(NodeRow(line=0, ip="203.0.113.80", city=LONDON))
            until_equal(out, base, present=["203.0.113.80"])
            update_node(added, {"ip": "203.0.113.81", "city": PARIS})
            delete_node(nodes[1].id)
            create_node(NodeRow(line=0, ip="2001:db8:8::1", city=LONDON))  # not IPv4: not in its file
            until_equal(out, base, present=["203.0.113.81"], absent=["203.0.113.80", nodes[1].ip])
            sidecar.send_signal(signal.SIGSTOP)  # away for a while: meanwhile a change, and its history goes
            create_node(NodeRow(line=0, ip="203.0.113.82", city=PARIS))
            with write_transaction():
                prune_change_log(now=2**40, keep_changes=0, every=0)
            sidecar.send_signal(signal.SIGCONT)
            until_equal(out, base, present=["203.0.113.82"])
            assert (out.stat().st_mode & 0o777) == 0o644
        finally:
            sidecar.terminate()
            said = sidecar.communicate(timeout=10)[1]
    assert "history gone: reading the whole list again" in said
    assert not list(tmp_path.glob("tmp*"))  # no temporary files left behind
