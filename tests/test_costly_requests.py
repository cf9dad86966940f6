"""bench/costly_requests.py, which `make bench` runs to report the costliest anonymous requests beside a plain
page (contract §14), runs against a database as users have it: every case answers 200, each is timed."""
from bench.costly_requests import costs
from tests.live_server import manage, procfile_env


def test_the_costly_requests_bench_runs_every_case(throwaway_url):
    env = procfile_env(throwaway_url)
    manage(env, "release")
    manage(env, "seed", "--demo-nodes", "300")
    rows = costs(throwaway_url, rounds=2)  # asserts that every request was a 200
    assert rows[0]["request"] == "a plain page of 50" and rows[0]["pages"] == 1
    assert len(rows) == 10 and all(row["median_ms"] > 0 and row["max_ms"] >= row["median_ms"] for row in rows)
