"""The service through PgBouncer in transaction mode, as many platforms reach PostgreSQL: every session setting
must survive server connections being shared between clients (the statement timeout is SET LOCAL, never a
startup option, which PgBouncer refuses). The test starts its own PgBouncer (Debian's `pgbouncer` package)
on a free port in front of the test database; it is skipped without PostgreSQL or without PgBouncer.
"""
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee
import pytest

from config import Config
from models.database import open_database
from security import totp
from tests.conftest import LONDON, PASSWORD, make_user
from tests.live_server import ROOT, free_port, get, post_json, procfile_env, serve

pytestmark = [pytest.mark.slow, pytest.mark.keeps_rows]
PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)


@pytest.fixture(scope="module")
def bouncer_url(config):
    """The test database's URL through a PgBouncer in transaction mode that this fixture runs."""
    if not config.database_url.startswith("postgres"):
        pytest.skip("PgBouncer stands in front of PostgreSQL")
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (Debian package pgbouncer)")
    target = urlsplit(config.database_url)
    folder = Path(tempfile.mkdtemp(prefix="perfops-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text(f'"{target.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
* = host={target.hostname} port={target.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
""")
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        os.chown(folder, pwd.getpwnam("postgres").pw_uid, -1)
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("pgbouncer did not start")
            time.sleep(0.1)
        yield urlunsplit(target._replace(netloc=f"{target.username}@127.0.0.1:{port}"))
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def login(base, username, **extra):
    try:
        return 200, post_json(f"{base}/auth", {"username": username, "password": PASSWORD, **extra})
    except Exception as error:  # urllib's HTTPError: the status is what matters here
        return error.code, None


def test_the_service_works_through_pgbouncer(config, db, bouncer_url, tmp_path):
    secret = totp.new_secret()
    make_user("bouncer-otp", otp_secret=secret)
    make_user("bouncer-plain")
    with serve(procfile_env(bouncer_url, workers=2)) as (base, _):
        assert get(f"{base}/health")[0] == 200
        # A login with a one-time password, and the same code refused the second time.
        code = totp.code_at(secret, datetime.now(timezone.utc))
        status, body = login(base, "bouncer-otp", otp=code)
        assert status == 200
        assert login(base, "bouncer-otp", otp=code)[0] == 422
        token = body["data"]["token"]
        # Refresh, and a read that needs the token.
        refreshed = post_json(f"{base}/auth/refresh", None, headers={"Authorization": f"Bearer {token}"})
        assert get(f"{base}/countries/GB", headers={"Authorization": f"Bearer {refreshed['data']['token']}"})[0] == 200
        # Throttling counts across workers and connections.
        statuses = []
        for _ in range(6):
            try:
                post_json(f"{base}/auth", {"username": "bouncer-plain", "password": "wrong password"})
            except Exception as error:
                statuses.append(error.code)
        assert statuses[:5] == [401] * 5 and statuses[5] == 429
        # Imports through PgBouncer, both ways of writing (batched, and COPY for a large file), then served.
        env = procfile_env(bouncer_url)
        small = tmp_path / "small.csv"
        small.write_text(f"ip,city\n198.51.100.1,{LONDON}\n")
        large = tmp_path / "large.csv"
        large.write_text("ip,city\n" + "".join(f"198.18.{i // 250}.{i % 250 + 1},{LONDON}\n" for i in range(2500)))
        for path, expected in ((small, "1 new"), (large, "2500 new")):
            result = subprocess.run([sys.executable, "manage.py", "import-nodes", str(path)], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0 and expected in result.stdout, result.stderr
        time.sleep(1.0)  # the freshness bound
        assert get(f"{base}/nodes.txt")[2].count(b"\n") == 2501
    from models import Node

    Node.delete().execute()


def test_the_statement_timeout_holds_through_pgbouncer_and_stays_in_its_transaction(bouncer_url):
    limited = open_database(Config(database_url=bouncer_url, db_statement_timeout=200, db_pool_size=2))
    unlimited = open_database(Config(database_url=bouncer_url, db_statement_timeout=0, db_pool_size=2))
    try:
        with pytest.raises(peewee.OperationalError, match="statement timeout"):
            limited.execute_sql("SELECT pg_sleep(1)")
        with pytest.raises(peewee.OperationalError, match="statement timeout"):
            with limited.atomic():
                limited.execute_sql("SELECT 1")
                limited.execute_sql("SELECT pg_sleep(1)")
        # Nothing leaked into the server connections PgBouncer hands to other clients.
        for _ in range(4):
            assert unlimited.execute_sql("SELECT current_setting('statement_timeout')").fetchone()[0] == "0"
            unlimited.execute_sql("SELECT pg_sleep(0.3)")
    finally:
        limited.close_all()
        unlimited.close_all()
