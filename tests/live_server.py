"""Running the Procfile's commands for real, as the platform does, for tests that need a live server."""
import contextlib
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent


def procfile_command(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise AssertionError(f"no {process} process in the Procfile")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_env(database_url: str, workers: int = 3, **extra) -> dict:
    """The environment a platform gives: tools on PATH, a PORT, the database, no JWT_SECRET unless given."""
    env = {**os.environ, "DATABASE_URL": database_url, "WEB_CONCURRENCY": str(workers), "PORT": str(free_port()),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("JWT_SECRET", None)
    env.update(extra)
    return env


def run_manage(env: dict, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`manage.py` run as an operator would, in `env`."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def manage(env: dict, *args, stdin: str | None = None) -> str:
    """`manage.py`'s output, once it has succeeded."""
    result = run_manage(env, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_release(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(procfile_command("release"), shell=True, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def exited(pid: int, timeout: float = 30) -> None:
    """Waits until process `pid` (not our child) has exited: gone, or a zombie nobody has reaped yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still running {timeout} s after SIGTERM")


@contextlib.contextmanager
def serve(env: dict):
    """The `web` process, once /ping answers; yields (base URL, Popen). Stopped with SIGTERM after,

    when `server.output` holds what it wrote (to a file: a pipe nobody reads would block its logging).
    """
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(procfile_command("web"), shell=True, cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{env['PORT']}"
    failed = False
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"{base}/ping")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("gunicorn did not start") from None
                time.sleep(0.2)
        yield base, server
    except BaseException:
        failed = True
        raise
    finally:
        # The shell that ran the Procfile's command goes at once; gunicorn writes its last lines (and a worker
        # its held access lines) as it stops, after its workers have.
        master = None
        with contextlib.suppress(AssertionError, OSError):  # gunicorn may not have started at all
            master = gunicorn_master(server.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if master is not None:
            exited(master)
        log.seek(0)
        server.output = log.read().decode(errors="replace")
        log.close()
        if failed:  # what the server said, for the failure's report
            print("\n".join(line for line in server.output.splitlines()
                            if '"level":"warning"' in line or '"level":"error"' in line)[-20000:])


def child_pids(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def wait_for_workers(pid: int, count: int) -> list[int]:
    """The gunicorn master's children, once `count` have booted (the shell may or may not exec it)."""
    deadline = time.monotonic() + 30
    master = gunicorn_master(pid)
    while True:
        children = child_pids(master)
        if len(children) >= count or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


def get(url: str, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
        return response.status, response.headers, response.read()


def metric_samples(text: str) -> dict:
    """name -> [(labels, value)], read with prometheus_client's own parser."""
    found: dict = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def scrape(base: str, token: str) -> dict:
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return metric_samples(response.read().decode())


def wait_for_read_models(base: str, workers: int, token: str, timeout: float = 30) -> dict:
    """Until `workers` workers have built their read models and say which data they serve (the server needs
    METRICS_TOKEN=`token`); the metrics then."""
    deadline = time.monotonic() + timeout
    while True:
        found = scrape(base, token)
        if len([1 for _, version in found.get("perfops_read_model_data_version", []) if version > 0]) == workers:
            return found
        assert time.monotonic() < deadline, f"fewer than {workers} read models built in {timeout} s"
        time.sleep(0.1)


def post_json(url: str, body, headers=None) -> dict:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def status_of(url: str, method: str = "GET", body: bytes | None = None, headers=None) -> int:
    """The status a request gets; 0 when nothing answers at all."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def gunicorn_master(pid: int) -> int:
    """The master's pid: `pid` itself when the shell exec'd gunicorn, else the shell's one child."""
    if Path(f"/proc/{pid}/exe").resolve().name.startswith("python"):
        return pid
    children = child_pids(pid)
    assert len(children) == 1, children
    return children[0]


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@contextlib.contextmanager
def nginx_in_front(folder: Path, upstream_port: int):
    """deploy/nginx.conf, filled in as its header says, running in front of `upstream_port`; yields its base
    URL. (Skip the test first when NGINX is None.)"""
    listen = free_port()
    text = string.Template((ROOT / "deploy" / "nginx.conf").read_text()).safe_substitute(
        PREFIX=str(folder), LISTEN_PORT=listen, UPSTREAM_PORT=upstream_port)
    conf = folder / "nginx.conf"
    conf.write_text(text)
    command = [NGINX, "-c", str(conf), "-e", str(folder / "error.log")]
    if os.geteuid() == 0:  # its workers would be `nobody`, who cannot enter pytest's private temporary folders
        command += ["-g", "user root;"]
    subprocess.run([*command, "-t"], check=True, capture_output=True)
    subprocess.run(command, check=True)
    try:
        yield f"http://127.0.0.1:{listen}"
    finally:
        subprocess.run([*command, "-s", "stop"], capture_output=True)
