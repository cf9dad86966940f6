"""bench/costly_requests.py, which `make bench` runs to report the costliest anonymous requests beside a plain
page (contract §14), run as its docstring says against a database as users have it: every case answers 200
(the script asserts it) and is timed. A subprocess, as the script binds the process's database."""
import re
import subprocess
import sys

from tests.live_server import ROOT, manage, procfile_env


def test_the_costly_requests_bench_runs_every_case(throwaway_url):
    env = procfile_env(throwaway_url)
    manage(env, "release")
    manage(env, "seed", "--demo-nodes", "300")
    run = subprocess.run([sys.executable, "bench/costly_requests.py", throwaway_url, str(ROOT), "2"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = re.findall(r"^(.+?)\s+([0-9.]+) kB\s+median\s+([0-9.]+) ms\s+max\s+([0-9.]+) ms\s+([0-9.]+) × a plain page$",
                      run.stdout, re.MULTILINE)
    assert len(rows) == 15 and rows[0][0] == "a plain page of 50" and rows[0][4] == "1.0", run.stdout
    assert all(float(median) > 0 and float(worst) >= float(median) for _, _, median, worst, _ in rows), run.stdout
    assert float(rows[0][1]) > 1, run.stdout  # a page's size, in kB
