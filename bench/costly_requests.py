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

from falcon import testing

if __name__ == "__main__":  # the project whose code is timed; `make bench` imports this from its own
    sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).resolve().parent.parent))


def costs(database_url: str, rounds: int) -> list[dict]:
    """Each case's median and worst time in ms, and the median as a multiple of a plain page's."""
    from app import create_app, make_read_model
    from config import Config

    config = Config(database_url=database_url, jwt_secret="x" * 40, access_log=False)
    model = make_read_model(config)
    client = testing.TestClient(create_app(config, read_model=model))
    model.wait_until_built(600)
    rng = random.Random(1)

    def point():
        return f"{rng.uniform(-89, 89):.4f},{rng.uniform(-179, 179):.4f}"

    first = client.simulate_get("/nodes?perPage=50")
    version, pages = int(first.headers["x-data-version"]), first.json["meta"]["pagination"]["totalPages"]
    gzip = {"Accept-Encoding": "gzip"}  # what browsers, curl --compressed and python-requests send
    cases = {
        "a plain page of 50": lambda: f"/nodes?perPage=50&page={rng.randint(1, max(pages, 1))}",
        "CIDR blocks of a whole-sphere circle": lambda: f"/nodes.txt?aggregate=cidr&family=4,6&near={point()}"
                                                        "&radius=20038",
        "CIDR blocks of a 5,000 km circle": lambda: f"/nodes.txt?aggregate=cidr&near={point()}&radius=5000",
        "a page of a whole-sphere circle": lambda: f"/nodes?near={point()}&radius=20038&perPage=50",
        "the nearest 50 of the whole sphere": lambda: f"/nodes?near={point()}&radius=20038&order=distance"
                                                      "&perPage=50",
        "the farthest 50 IPv4 nodes of a 19,000 km circle": lambda: (
            f"/nodes?near={point()}&radius=19000&order=distance&direction=desc&family=4&perPage=50"),
        "CIDR blocks of the IPv6 nodes of a 19,000 km circle": lambda: (
            f"/nodes.txt?aggregate=cidr&family=6&near={point()}&radius=19000"),
        "the address list of a whole-sphere circle": lambda: f"/nodes.txt?near={point()}&radius=20038",
        "the address list of a 19,000 km circle by distance": lambda: (
            f"/nodes.txt?near={point()}&radius=19000&order=distance"),
        "the same, farthest first": lambda: f"/nodes.txt?near={point()}&radius=19000&order=distance&direction=desc",
        "the address list of a 19,000 km circle, gzip-coded": (
            lambda: f"/nodes.txt?near={point()}&radius=19000", gzip),
        "the address list of a 19,000 km circle by distance, gzip-coded": (
            lambda: f"/nodes.txt?near={point()}&radius=19000&order=distance", gzip),
        "every address in another order (by city, country or region, either way, a family or both)": lambda: (
            f"/nodes.txt?order={rng.choice(['city', 'country', 'region'])}&direction={rng.choice(['asc', 'desc'])}"
            f"&family={rng.choice(['4', '6', '4,6'])}"),
        "a page of 1,000 changes": lambda: f"/nodes/changes?after={max(version - 1000, 0)}"
                                           f"&family={rng.choice([4, 6])}",
        "a page of 1,000 changes, gzip-coded": (
            lambda: f"/nodes/changes?after={rng.randint(max(version - 5000, 0), max(version - 1000, 0))}", gzip),
    }
    found = []
    for name, case in cases.items():
        url, headers = case if isinstance(case, tuple) else (case, {})
        warm_path, _, warm_query = url().partition("?")
        client.simulate_get(warm_path, query_string=warm_query, headers=headers)  # built once per data version
        times, sizes = [], []
        for _ in range(rounds):
            path, _, query = url().partition("?")
            started = time.perf_counter()
            result = client.simulate_get(path, query_string=query, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            sizes.append(len(result.content))
            assert result.status_code == 200, (path, query, result.status_code, result.text[:200])
            assert result.headers.get("Content-Encoding") == headers.get("Accept-Encoding"), (path, query)
        found.append({"request": name, "example": url(), "median_ms": round(statistics.median(times), 2),
                      "median_kb": round(statistics.median(sizes) / 1000, 1),
                      "max_ms": round(max(times), 2)})
    model.stop()
    plain = found[0]["median_ms"]
    for row in found:
        row["pages"] = round(row["median_ms"] / plain, 1)
    return found


def main(database_url: str, rounds: int) -> None:
    for row in costs(database_url, rounds):
        print(f"{row['request']:90s} {row['median_kb']:9.1f} kB  median {row['median_ms']:7.2f} ms  "
              f"max {row['max_ms']:7.2f} ms  "
              f"{row['pages']:5.1f} × a plain page")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else 15)
