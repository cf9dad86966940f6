"""Real database peers a test can stop and start: a throwaway PostgreSQL cluster, and PgBouncer in front of one.

Both run as the `postgres` user when the tests run as root (neither will run as root), in folders directly
under the system temp folder (pytest's own are private to root).
"""
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.live_server import free_port


def server_binary(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


INITDB, PG_CTL = server_binary("initdb"), server_binary("pg_ctl")
PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
# What docs/operations.md tells a deployment to set in PgBouncer, beside transaction pooling: retry a failed server
# login after 1 s, not 15 (after a PostgreSQL restart every query waits that long otherwise, past a client's
# timeout), and give up on a query waiting for a server connection after 5 s (a 503 the client can retry).
RECOMMENDED_PGBOUNCER = {"server_login_retry": "1", "server_connect_timeout": "5", "query_wait_timeout": "5"}


def run_as_postgres(*command, **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    return subprocess.run(command, check=True, capture_output=True, timeout=120, **kwargs)


def give_to_postgres(folder: Path) -> None:
    if os.geteuid() == 0:
        os.chown(folder, pwd.getpwnam("postgres").pw_uid, -1)


def cluster_missing() -> str | None:
    """Why a throwaway cluster cannot run here, or None."""
    if not (INITDB and PG_CTL) or (os.geteuid() == 0 and not shutil.which("runuser")):
        return "the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    return None


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on a free port."""

    def __init__(self, folder: Path):
        self.data = folder / "data"
        self.port = free_port()
        give_to_postgres(folder)
        run_as_postgres(INITDB, "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self):
        run_as_postgres(PG_CTL, "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start", "-o",
                        f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off")

    def stop(self):
        run_as_postgres(PG_CTL, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self):
        run_as_postgres(PG_CTL, "-D", str(self.data), "-l", str(self.data / "log"), "-m", "fast", "-w", "restart")

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@contextlib.contextmanager
def throwaway_cluster():
    folder = Path(tempfile.mkdtemp(prefix="perfops-pg-"))
    try:
        cluster = Cluster(folder)
        cluster.start()
        yield cluster
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def pgbouncer(database_url: str, **settings):
    """PgBouncer in transaction mode in front of `database_url`'s server; yields the same database's URL
    through it. `settings` add to or override the [pgbouncer] section."""
    target = urlsplit(database_url)
    folder = Path(tempfile.mkdtemp(prefix="perfops-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text(f'"{target.username}" ""\n')
    options = {"listen_addr": "127.0.0.1", "listen_port": str(port), "unix_socket_dir": "", "auth_type": "trust",
               "auth_file": f"{folder}/users.txt", "pool_mode": "transaction", "default_pool_size": "4",
               "max_client_conn": "200", "ignore_startup_parameters": "extra_float_digits", **settings}
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={target.hostname} port={target.port or 5432}\n[pgbouncer]\n"
        + "".join(f"{name} = {value}\n" for name, value in options.items()))
    give_to_postgres(folder)
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("pgbouncer did not start")
            time.sleep(0.1)
        yield urlunsplit(target._replace(netloc=f"{target.username}@127.0.0.1:{port}"))
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
