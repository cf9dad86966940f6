"""How much a gunicorn worker's memory grows while serving the full text list of N nodes.

    python bench/text_list_memory.py [--nodes 100000] [--database-url URL]

Builds a database (a temporary SQLite file unless --database-url names an empty PostgreSQL database),
migrates, seeds and imports N generated nodes through `manage.py import-nodes`, starts the Procfile's `web`
command with one worker, and reads the worker's resident memory (VmRSS) before the first /nodes.txt request,
after it, and after 20 more; VmHWM is the worker's peak.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kib(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="perfops-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "WEB_CONCURRENCY": "1", "PORT": str(free_port()),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def manage(*command):
        started = time.monotonic()
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.monotonic() - started

    csv_path = workdir / "nodes.csv"
    with open(csv_path, "w") as out:
        subprocess.run([sys.executable, "bench/generate_nodes.py", str(args.nodes)], cwd=ROOT, stdout=out, check=True)
    print(f"database: {url}")
    print(f"migrate {manage('migrate'):.1f} s, seed {manage('seed'):.1f} s, "
          f"import-nodes of {args.nodes} rows {manage('import-nodes', str(csv_path)):.1f} s")

    server = subprocess.Popen(["gunicorn", "--config", "gunicorn.conf.py", "app:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        for _ in range(100):
            try:
                fetch(f"{base}/ping")
                break
            except OSError:
                time.sleep(0.1)
        worker = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]).split()[0])
        fetch(f"{base}/nodes?perPage=50")  # warm: imports, first queries, caches of the list path
        before = memory_kib(worker)
        body = fetch(f"{base}/nodes.txt")
        after_one = memory_kib(worker)
        started = time.monotonic()
        for _ in range(20):
            fetch(f"{base}/nodes.txt")
        elapsed = time.monotonic() - started
        after = memory_kib(worker)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = body.count(b"\n")
    print(f"/nodes.txt: {lines} lines, {len(body) / 1e6:.2f} MB; 20 requests at {20 * len(body) / 1e6 / elapsed:.1f} MB/s")
    print(f"worker RSS before {before['VmRSS'] / 1024:.1f} MiB, after 1 request {after_one['VmRSS'] / 1024:.1f} MiB, "
          f"after 21 {after['VmRSS'] / 1024:.1f} MiB; growth {(after['VmRSS'] - before['VmRSS']) / 1024:.1f} MiB, "
          f"peak (VmHWM) {after['VmHWM'] / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
