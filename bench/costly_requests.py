"""What the costliest anonymous requests cost a worker in process (ms, median of N), each with a new point so
that no cache keyed by the URL helps (contract §14: about ten plain pages at most).

    python bench/costly_requests.py DATABASE_URL [PROJECT_FOLDER] [N]

PROJECT_FOLDER (default: this checkout) lets the same script time another commit's code (a git worktree).
"""
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).resolve().parent.parent))

from falcon import testing  # noqa: E402

from app import create_app, make_read_model  # noqa: E402
from config import Config  # noqa: E402


def main(database_url: str, rounds: int) -> None:
    config = Config(database_url=database_url, jwt_secret="x" * 40, access_log=False)
    model = make_read_model(config)
    client = testing.TestClient(create_app(config, read_model=model))
    model.wait_until_built(120)
    rng = random.Random(1)

    def point():
        return f"{rng.uniform(-89, 89):.4f},{rng.uniform(-179, 179):.4f}"

    version = int(client.simulate_get("/nodes?perPage=1").headers["x-data-version"])
    cases = {
        "plain page": lambda: f"/nodes?perPage=50&page={rng.randint(1, 1900)}",
        "cidr whole sphere": lambda: f"/nodes.txt?aggregate=cidr&family=4,6&near={point()}&radius=20038",
        "cidr 5000 km": lambda: f"/nodes.txt?aggregate=cidr&near={point()}&radius=5000",
        "radius page whole sphere": lambda: f"/nodes?near={point()}&radius=20038&perPage=50",
        "nearest of whole sphere": lambda: f"/nodes?near={point()}&radius=20038&order=distance&perPage=50",
        "farthest IPv4, 19,000 km": lambda: (f"/nodes?near={point()}&radius=19000&order=distance&direction=desc"
                                             f"&family=4&perPage=50"),
        "cidr IPv6 19,000 km": lambda: f"/nodes.txt?aggregate=cidr&family=6&near={point()}&radius=19000",
        "text whole sphere": lambda: f"/nodes.txt?near={point()}&radius=20038",
        "feed 1000 behind": lambda: f"/nodes/changes?after={max(version - 1000, 0)}&family={rng.choice([4, 6])}",
    }
    for name, url in cases.items():
        times = []
        for _ in range(rounds):
            path, _, query = url().partition("?")
            started = time.perf_counter()
            result = client.simulate_get(path, query_string=query)
            times.append((time.perf_counter() - started) * 1000)
            assert result.status_code == 200, (path, query, result.status_code, result.text[:200])
        print(f"{name:28s} median {statistics.median(times):8.2f} ms  max {max(times):8.2f} ms")
    model.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else 15)
