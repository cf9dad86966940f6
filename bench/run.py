"""`make bench`: the service under wrk against its ceiling, on SQLite and PostgreSQL, 10,000, 100,000 and
1,000,000 nodes.

For each database it builds (migrate, seed, `import-nodes` of a generated CSV, timed), it starts the Procfile's
`web` command with the production settings, waits until every worker has built its read model, logs in, and
runs every scenario under wrk twice; each scenario's ceiling (bench/ceiling.py: a constant body of the same
size and status, under the very same gunicorn settings) runs twice too. The varied scenarios
(bench/varied.lua) send every request a different page, ordering, direction or filter, as an API client
does. Two scenarios run varied traffic under writes: a client PATCHing a node through the API every 100 ms and
reading it back at once (counting reads that show older data), and a writer importing 1,000 changed nodes every
5 seconds (timing how long each import takes to be served by every worker). Medians of requests/s, p50 and p99 are
reported with the ratio to the ceiling and the workers' memory. Results go to bench/results/latest.{md,json}.

    python bench/run.py [--seconds 3] [--sizes 10000,100000,1000000] [--databases sqlite,postgresql]

PostgreSQL is taken from BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres, used to
create the benchmark databases) and skipped when it cannot be reached.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.costly_requests import costs  # noqa: E402
from bench.generate_nodes import changed_rows  # noqa: E402
from bench.memory import InstanceMemory, children, first_answers, status_kib  # noqa: E402
from tests.live_server import free_port  # noqa: E402  (the same helper the tests use)

RESULTS = ROOT / "bench" / "results"
DATA = ROOT / "bench" / ".data"
PASSWORD = "benchmark password 1"
JWT_SECRET = "bench-secret-long-enough-for-every-hmac-algorithm-0123456789abcdef"
WRK_THREADS, WRK_CONNECTIONS = 2, 32

# name, path, token needed, extra (conditional: send the ETag back; method; varied: bench/varied.lua's list)
# Asked as soon as a fresh instance answers at all, before its read models are built (contract §14).
FIRST_REQUESTS = ["/nodes.txt", "/nodes?perPage=50", "/nodes/1"]

SCENARIOS = [
    ("varied nodes", "/nodes", False, {"varied": "nodes"}),
    ("varied cities (token)", "/cities", True, {"varied": "cities"}),
    ("varied radius", "/nodes?near=50.1109,8.6821&radius=1000&order=distance", False, {"varied": "near"}),
    ("ping", "/ping", False, {}),
    ("nodes page", "/nodes?perPage=50", False, {}),
    ("nodes filtered+ordered", "/nodes?country=US&order=city&perPage=50", False, {}),
    ("nodes page 2000", "/nodes?perPage=50&page=2000", False, {}),
    ("node item", "/nodes/{node_id}", False, {}),
    ("countries (token)", "/countries", True, {}),
    ("cities US (token)", "/cities?country=US&perPage=100", True, {}),
    ("nodes.txt", "/nodes.txt", False, {}),
    ("nodes.txt gzip", "/nodes.txt", False, {"headers": {"Accept-Encoding": "gzip"}}),
    ("nodes.txt 304", "/nodes.txt", False, {"conditional": True}),
    ("nodes.txt CIDR blocks", "/nodes.txt?aggregate=cidr", False, {}),
    ("nodes.txt CIDR IPv4 304", "/nodes.txt?aggregate=cidr&family=4", False, {"conditional": True}),
    ("auth refresh", "/auth/refresh", True, {"method": "POST"}),
    # (No commas in names: --only takes a comma-separated list.)
    ("changes feed 1000 behind", "/nodes/changes?after={feed_after}", False, {}),
    ("changes feed caught up", "/nodes/changes?after={version}", False, {}),
]


def run(*command, env=None, stdin=None):
    return subprocess.run(command, cwd=ROOT, env=env, input=stdin, check=True, capture_output=True, text=True)


def service_env(database_url: str, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(free_port()), "JWT_SECRET": JWT_SECRET,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.update(extra)
    return env


def build(database_url: str, nodes: int) -> float:
    """Migrate, seed and import `nodes` generated nodes; returns the import's seconds."""
    env = service_env(database_url)
    run(sys.executable, "manage.py", "migrate", env=env)
    run(sys.executable, "manage.py", "seed", env=env)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as out:
        subprocess.run([sys.executable, "bench/generate_nodes.py", str(nodes)], cwd=ROOT, stdout=out, check=True)
    started = time.monotonic()
    run(sys.executable, "manage.py", "import-nodes", out.name, env=env)
    seconds = time.monotonic() - started
    os.unlink(out.name)
    run(sys.executable, "manage.py", "createuser", "bench", "--name", "Bench", "--email", "bench@example.com",
        "--role", "trial", "--permission", "nodes:write", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    return seconds


class Server:
    """A gunicorn started with the project's own config file (the Procfile's `web`), app or ceiling."""

    def __init__(self, env: dict, app: str = "wsgi:app", extra_env: dict | None = None):
        self.extra_env = extra_env or {}
        env = {**env, **self.extra_env}
        self.env = env
        self.base = f"http://127.0.0.1:{env['PORT']}"
        self.log = tempfile.NamedTemporaryFile()
        self.process = subprocess.Popen(["gunicorn", "--config", "gunicorn.conf.py", app], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.memory = InstanceMemory(self.process.pid)
        for _ in range(2000):
            try:
                urllib.request.urlopen(self.base + "/", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.05)
        self.first_answers_seconds = None
        if app == "wsgi:app" and env.get("READ_MODEL", "1") == "1":
            # As soon as it answers at all: the lists a client asks for first, while the workers build.
            self.first_answers_seconds = first_answers(self.base, FIRST_REQUESTS, fetch)
            self.wait_for_read_models(int(env.get("WEB_CONCURRENCY", "2")))

    def wait_for_read_models(self, workers: int, timeout: float = 300) -> None:
        """Until every worker has logged that its read model is built."""
        deadline = time.monotonic() + timeout
        while Path(self.log.name).read_text(errors="replace").count('"read model built"') < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not build their read models")
            time.sleep(0.2)

    def workers_rss_kib(self) -> dict[int, int]:
        sizes = {pid: status_kib(pid, "VmRSS") for pid in children(self.process.pid)}
        return {pid: size for pid, size in sizes.items() if size is not None}  # a worker may just have been recycled

    def stop(self):
        self.memory.stop()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def fetch(url: str, headers: dict, method: str = "GET"):
    request = urllib.request.Request(url, headers=headers, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:  # 304
        return error.code, error.headers, b""


def wrk(url: str, headers: dict, seconds: int, method: str = "GET", varied: str | None = None) -> dict:
    script = "varied.lua" if varied else "report.lua"
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency",
               "-s", str(ROOT / "bench" / script), url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    env = {**os.environ, "WRK_METHOD": method, "VARIED": varied or "", "BENCH_DIR": str(ROOT / "bench")}
    output = subprocess.run(command, capture_output=True, text=True, env=env).stdout
    result = json.loads(output.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


COSTLY_ROUNDS = 40
RUNS = 3  # service and ceiling alternate, RUNS times each: a slow spell of the machine hits both


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50_us", "p99_us")} | {
        "errors": sum(run["errors"] + run["non2xx"] for run in runs)}


def measure(server: Server, ceiling: Server, token: str, node_id: int, seconds: int, only=None) -> list[dict]:
    rows = []
    for name, path, needs_token, extra in SCENARIOS:
        if only and name not in only:
            continue
        version = int(fetch(server.base + "/nodes?perPage=1", {})[1]["X-Data-Version"])
        path = path.format(node_id=node_id, feed_after=version - 1000, version=version)
        headers = {"Authorization": f"Bearer {token}"} if needs_token else {}
        headers.update(extra.get("headers", {}))
        method = extra.get("method", "GET")
        status, response_headers, body = fetch(server.base + path, headers, method)
        if extra.get("conditional"):
            headers["If-None-Match"] = response_headers["ETag"]
            status, _, body = fetch(server.base + path, headers)
        rss_before = server.workers_rss_kib()
        server.memory.window_peak_mib()
        varied = extra.get("varied")
        url = server.base + (path.split("?")[0] if varied else path)
        service_runs, ceiling_runs = [], []
        for _ in range(RUNS):
            service_runs.append(wrk(url, headers, seconds, method, varied))
            ceiling_runs.append(wrk(f"{ceiling.base}/?bytes={len(body)}&status={status}", {}, seconds))
        service, ceiling_result = median_of(service_runs), median_of(ceiling_runs)
        rss_after = server.workers_rss_kib()
        rows.append({
            "scenario": name, "path": path, "status": status, "bytes": len(body),
            "rps": round(service["rps"]), "p50_ms": service["p50_us"] / 1000, "p99_ms": service["p99_us"] / 1000,
            "ceiling_rps": round(ceiling_result["rps"]), "ratio": round(service["rps"] / ceiling_result["rps"], 2),
            "mb_per_s": round(service["rps"] * len(body) / 1e6, 1),
            "errors": service["errors"],
            "worker_rss_mib": round(max(rss_after.values()) / 1024, 1),
            # Growth of a worker that lived through the whole scenario (a recycled one starts anew).
            "worker_growth_mib": round(max([rss_after[p] - rss_before[p] for p in rss_after if p in rss_before],
                                           default=0) / 1024, 1),
            "instance_peak_pss_mib": server.memory.window_peak_mib(),
        })
        print(f"  {name:26} {rows[-1]['rps']:>7} req/s  p50 {rows[-1]['p50_ms']:6.2f} ms  "
              f"x{rows[-1]['ratio']:.2f} of {rows[-1]['ceiling_rps']}  {rows[-1]['bytes']} B", flush=True)
    return rows


CHANGE_EVERY = 5  # seconds between the writer's imports
CHANGED_ROWS = 1000


def during_imports(server: Server, size: int, seconds: int, undisturbed: dict | None) -> dict:
    """Varied /nodes traffic while a writer imports CHANGED_ROWS changed nodes every CHANGE_EVERY seconds;
    after each import, the time until ten answers in a row (from any worker) show a moved node in its new city."""
    stop = threading.Event()
    imports = []

    def writer():
        round_number = 0
        while not stop.is_set():
            started = time.monotonic()
            rows = changed_rows(size, round_number)
            with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as out:
                csv.writer(out, lineterminator="\n").writerows([["ip", "city", "asn", "network"], *rows])
            run(sys.executable, "manage.py", "import-nodes", out.name, env=server.env)
            os.unlink(out.name)
            committed = time.monotonic()
            ip, city = rows[0][0], rows[0][1]
            in_a_row = 0
            while in_a_row < 10 and time.monotonic() - committed < CHANGE_EVERY:
                page = fetch(f"{server.base}/nodes?city={city}&perPage=1000", {})[2]
                in_a_row = in_a_row + 1 if f'"ip":"{ip}"'.encode() in page else 0
            imports.append({"import_s": round(committed - started, 2),
                            "served_after_s": round(time.monotonic() - committed, 2) if in_a_row == 10 else None})
            round_number += 1
            stop.wait(max(started + CHANGE_EVERY - time.monotonic(), 0))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = wrk(server.base + "/nodes", {}, max(5 * seconds, 3 * CHANGE_EVERY), varied="nodes")
    finally:
        stop.set()
        thread.join()
    rps = result["rps"]
    served = [entry["served_after_s"] for entry in imports]
    return {
        "scenario": f"varied nodes, {CHANGED_ROWS:,} changed every {CHANGE_EVERY} s", "path": "/nodes (varied)",
        "status": 200, "bytes": undisturbed["bytes"] if undisturbed else 0,
        "rps": round(rps), "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "ceiling_rps": undisturbed["ceiling_rps"] if undisturbed else 0,
        "ratio": round(rps / undisturbed["ceiling_rps"], 2) if undisturbed else 0,
        "vs_undisturbed": round(rps / undisturbed["rps"], 2) if undisturbed else None,
        "mb_per_s": 0, "errors": result["errors"] + result["non2xx"],
        "worker_rss_mib": round(max(server.workers_rss_kib().values()) / 1024, 1), "worker_growth_mib": 0,
        "imports": len(imports), "import_seconds_max": max((e["import_s"] for e in imports), default=None),
        "served_after_max_s": None if None in served else max(served, default=None),
    }


WRITE_EVERY = 0.1  # seconds between the API writes of during_writes


def during_writes(server: Server, token: str, node_id: int, seconds: int, undisturbed: dict | None) -> dict:
    """Varied /nodes traffic while a client PATCHes one node through the API every WRITE_EVERY seconds and reads
    it back at once (a new connection: any worker): a read that shows another ETag than the PATCH answered is
    stale (contract §12, read your writes)."""
    stop = threading.Event()
    writes, stale = [], []

    def writer():
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"}
        round_number = 0
        while not stop.is_set():
            started = time.monotonic()
            body = json.dumps({"asn": 64496 + round_number % 2}).encode()
            request = urllib.request.Request(f"{server.base}/nodes/{node_id}", data=body, headers=headers,
                                             method="PATCH")
            with urllib.request.urlopen(request, timeout=30) as response:
                tag = response.headers["ETag"]
            writes.append(time.monotonic() - started)
            if fetch(f"{server.base}/nodes/{node_id}", {})[1]["ETag"] != tag:
                stale.append(round_number)
            round_number += 1
            stop.wait(max(started + WRITE_EVERY - time.monotonic(), 0))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = wrk(server.base + "/nodes", {}, max(5 * seconds, 15), varied="nodes")
    finally:
        stop.set()
        thread.join()
    rps = result["rps"]
    return {
        "scenario": f"varied nodes, an API write every {WRITE_EVERY * 1000:.0f} ms", "path": "/nodes (varied)",
        "status": 200, "bytes": undisturbed["bytes"] if undisturbed else 0,
        "rps": round(rps), "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "ceiling_rps": undisturbed["ceiling_rps"] if undisturbed else 0,
        "ratio": round(rps / undisturbed["ceiling_rps"], 2) if undisturbed else 0,
        "vs_undisturbed": round(rps / undisturbed["rps"], 2) if undisturbed else None,
        "mb_per_s": 0, "errors": result["errors"] + result["non2xx"],
        "worker_rss_mib": round(max(server.workers_rss_kib().values()) / 1024, 1), "worker_growth_mib": 0,
        "writes": len(writes), "write_p50_ms": round(statistics.median(writes) * 1000, 1) if writes else None,
        "stale_reads": len(stale),
    }


def through_nginx(server: Server, seconds: int, direct: dict | None) -> dict | None:
    """/nodes.txt polls with the ETag through deploy/nginx.conf's proxy_cache in front of the service: the
    cache answers them, asking the service about once a second."""
    from tests.live_server import NGINX, nginx_in_front

    if NGINX is None:
        print("  nginx not installed: the poll through a shared cache is not measured")
        return None
    with tempfile.TemporaryDirectory() as folder, nginx_in_front(Path(folder), int(server.env["PORT"])) as front:
        tag = fetch(front + "/nodes.txt", {})[1]["ETag"]
        result = wrk(front + "/nodes.txt", {"If-None-Match": tag}, seconds)
    return {
        "scenario": "nodes.txt 304 through nginx's cache", "path": "/nodes.txt", "status": 304, "bytes": 0,
        "rps": round(result["rps"]), "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "ceiling_rps": direct["ceiling_rps"] if direct else 0,
        "ratio": round(result["rps"] / direct["ceiling_rps"], 2) if direct else 0,
        "mb_per_s": 0, "errors": result["errors"] + result["non2xx"],
        "worker_rss_mib": round(max(server.workers_rss_kib().values()) / 1024, 1), "worker_growth_mib": 0,
    }


def token_costs(token: str, database_url: str) -> dict:
    """What verifying a bearer token costs in this process: first use (the signature) and later uses (cached;
    the account behind it is asked about once per DATA_FRESHNESS)."""
    from datetime import datetime, timezone

    from config import Config
    from models import connect_database
    from security.tokens import TokenService

    config = Config(jwt_secret=JWT_SECRET, database_url=database_url)
    connect_database(config)
    service = TokenService(config, lambda: datetime.now(timezone.utc))
    per_call_us = lambda call: min(timeit.repeat(call, number=1000, repeat=5)) * 1000  # noqa: E731
    signature = per_call_us(lambda: service._verify_signature(token))
    service.verify(token)
    return {"signature_us": round(signature, 1), "cached_us": round(per_call_us(lambda: service.verify(token)), 2)}


def login(server: Server) -> str:
    request = urllib.request.Request(server.base + "/auth", method="POST",
                                     data=json.dumps({"username": "bench", "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]["token"]


def database_urls(kinds: list[str], sizes: list[int]) -> list[tuple[str, int, str]]:
    targets = []
    DATA.mkdir(parents=True, exist_ok=True)
    admin = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    for kind in kinds:
        for size in sizes:
            if kind == "sqlite":
                path = DATA / f"bench-{size}.sqlite3"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                targets.append((kind, size, f"sqlite:///{path}"))
                continue
            try:
                import psycopg2

                connection = psycopg2.connect(admin, connect_timeout=3)
            except Exception as error:  # no PostgreSQL here: say so and go on
                print(f"PostgreSQL skipped: {error}".strip())
                break
            connection.autocommit = True
            name = f"perfops_bench_{size}"
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                cursor.execute(f"CREATE DATABASE {name}")
            connection.close()
            targets.append((kind, size, re.sub(r"/[^/]*$", f"/{name}", admin)))
    return targets


def memory_lines(result: dict) -> list[str]:
    memory = result.get("memory")
    if not memory:
        return []
    built, end = memory["built"], memory["end"]
    return [f"Memory (MiB) once built: master {built['master_rss_mib']} RSS, workers {built['worker_rss_mib']} RSS "
            f"(peaks {built['worker_peak_rss_mib']}), the instance {built['instance_pss_mib']} PSS; at the end: "
            f"workers {end['worker_rss_mib']} RSS (peaks {end['worker_peak_rss_mib']}), the instance "
            f"{end['instance_pss_mib']} PSS, its peak over the whole run {end['instance_peak_pss_mib']} PSS. First "
            f"answers ({', '.join(FIRST_REQUESTS)}) {memory['first_answers_seconds']} s after the port answered."]


def write_results(results: list[dict], label: str, settings: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{label}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [f"# Benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"`make bench` on {os.cpu_count()} cores: wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}, each run "
             f"{results[0]['seconds']} s; the service and its ceiling (a constant body of the same size and status "
             f"under the same gunicorn settings) alternate, {RUNS} runs each, medians.",
             f"Settings beyond the production defaults: {settings or 'none'}.", ""]
    for result in results:
        lines += [f"## {result['database']}, {result['nodes']:,} nodes", "",
                  f"import-nodes: {result['import_seconds']:.1f} s; worker RSS once its read model is built: "
                  f"{result['idle_rss_mib']} MiB; token verification: "
                  f"{result['token']['signature_us']} µs first use, {result['token']['cached_us']} µs after", "",
                  *memory_lines(result), "",
                  "| scenario | req/s | p50 ms | p99 ms | ceiling req/s | × ceiling | MB/s | worker RSS MiB (growth) "
                  "| instance peak PSS MiB |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in result["rows"]:
            lines.append(f"| {row['scenario']} | {row['rps']:,} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
                         f"{row['ceiling_rps']:,} | {row['ratio']:.2f} | {row['mb_per_s']} | "
                         f"{row['worker_rss_mib']} ({row['worker_growth_mib']:+}) | "
                         f"{row.get('instance_peak_pss_mib', '')} |")
        for row in result["rows"]:
            if "stale_reads" in row:
                lines.append(f"\n{row['scenario']}: {row['vs_undisturbed']} × the undisturbed varied req/s; "
                             f"{row['writes']} writes (p50 {row['write_p50_ms']} ms), each read back at once from any "
                             f"worker: {row['stale_reads']} of those reads showed older data.")
            if "imports" in row:
                lines.append(f"\n{row['scenario']}: {row['vs_undisturbed']} × the undisturbed varied req/s; "
                             f"{row['imports']} imports (each ≤ {row['import_seconds_max']} s), each served by every "
                             f"worker ≤ {row['served_after_max_s']} s after it committed.")
        if result["costly"]:
            lines += ["", "The costliest anonymous requests found, in process (bench/costly_requests.py: each with a new "
                      f"point, the median of {COSTLY_ROUNDS}), beside a plain page of 50:", "",
                      "| request | median kB sent | median ms | worst ms | × a plain page |",
                      "|---|---:|---:|---:|---:|"]
            lines += [f"| {row['request']} | {row.get('median_kb', '')} | {row['median_ms']} | {row['max_ms']} | "
                      f"{row['pages']} |"
                      for row in result["costly"]]
        lines.append("")
    (RESULTS / f"{label}.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the service and its ceiling, e.g. GUNICORN_CMD_ARGS='--threads 4'")
    parser.add_argument("--label", default="latest", help="results go to bench/results/LABEL.{md,json}")
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    only = set(args.only.split(",")) if args.only else None
    results = []
    for kind, size, url in database_urls(args.databases.split(","), [int(s) for s in args.sizes.split(",")]):
        print(f"{kind}, {size:,} nodes: building", flush=True)
        import_seconds = build(url, size)
        server = Server(service_env(url), extra_env=extra_env)
        ceiling = Server(service_env("", **extra_env), app="bench.ceiling:app")
        try:
            idle_rss = round(max(server.workers_rss_kib().values()) / 1024, 1)
            built_memory = server.memory.report()
            token = login(server)
            node_id = json.loads(fetch(f"{server.base}/nodes?perPage=1&page={size // 2}", {})[2])["data"][0]["id"]
            rows = measure(server, ceiling, token, node_id, args.seconds, only)
            undisturbed = next((row for row in rows if row["scenario"] == "varied nodes"), None)
            if not only or "nginx" in only:
                direct = next((row for row in rows if row["scenario"] == "nodes.txt 304"), None)
                server.memory.window_peak_mib()
                cached = through_nginx(server, args.seconds, direct)
                if cached:
                    rows.append({**cached, "instance_peak_pss_mib": server.memory.window_peak_mib()})
            if not only or "writes" in only:
                server.memory.window_peak_mib()
                rows.append({**during_writes(server, token, node_id, args.seconds, undisturbed),
                             "instance_peak_pss_mib": server.memory.window_peak_mib()})
            if not only or "changes" in only:
                server.memory.window_peak_mib()
                rows.append({**during_imports(server, size, args.seconds, undisturbed),
                             "instance_peak_pss_mib": server.memory.window_peak_mib()})
            token_cost = token_costs(token, url)
            memory = {"built": built_memory, "end": server.memory.report(),
                      "first_answers_seconds": server.first_answers_seconds}
        finally:
            server.stop()
            ceiling.stop()
        costly = costs(url, COSTLY_ROUNDS) if not only or "costly" in only else []
        results.append({"database": kind, "nodes": size, "seconds": args.seconds, "import_seconds": import_seconds,
                        "idle_rss_mib": idle_rss, "memory": memory, "token": token_cost, "rows": rows,
                        "costly": costly})
        write_results(results, args.label, extra_env)
    print(f"wrote {RESULTS / (args.label + '.md')}")


if __name__ == "__main__":
    main()
