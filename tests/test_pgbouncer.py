"""The service through PgBouncer in transaction mode, as many platforms reach PostgreSQL: every session setting
must survive server connections being shared between clients (the statement timeout is SET LOCAL, never a
startup option, which PgBouncer refuses). The test starts its own PgBouncer (Debian's `pgbouncer` package)
on a free port in front of the test database; it is skipped without PostgreSQL or without PgBouncer.
"""
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import peewee
import pytest

from config import Config
from models.database import open_database
from security import totp
from tests.data import LONDON, PASSWORD, make_user
from tests.helpers import otp_at
from tests.live_server import ROOT, get, post_json, procfile_env, serve, status_of
from tests.peers import PGBOUNCER, RECOMMENDED_PGBOUNCER, cluster_missing, pgbouncer, throwaway_cluster

pytestmark = [pytest.mark.slow, pytest.mark.keeps_rows]


@pytest.fixture(scope="module")
def bouncer_url(config):
    """The test database's URL through a PgBouncer in transaction mode that this fixture runs."""
    if not config.database_url.startswith("postgres"):
        pytest.skip("PgBouncer stands in front of PostgreSQL")
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (Debian package pgbouncer)")
    with pgbouncer(config.database_url) as url:
        yield url


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
        code = otp_at(secret, datetime.now(timezone.utc))
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


def test_postgresql_restarted_behind_pgbouncer_costs_seconds_of_503_and_never_a_500(tmp_path):
    """PostgreSQL restarted for real behind a real PgBouncer with docs/operations.md's settings, under reads and writes
    on two workers: every failure is a 503 with Retry-After, and everything answers again within seconds."""
    missing = cluster_missing() or (PGBOUNCER is None and "pgbouncer is not installed")
    if missing:
        pytest.skip(missing)
    with throwaway_cluster() as cluster, pgbouncer(cluster.url, **RECOMMENDED_PGBOUNCER) as url:
        env = procfile_env(url, workers=2)
        for command in (["release"], ["import-nodes", str(tmp_path / "nodes.csv")]):
            (tmp_path / "nodes.csv").write_text(f"ip,city\n198.51.100.1,{LONDON}\n198.51.100.2,{LONDON}\n")
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                           capture_output=True, timeout=120)
        subprocess.run([sys.executable, "manage.py", "createuser", "writer", "--name", "Writer", "--email",
                        "writer@example.com", "--role", "service", "--permission", "nodes:write",
                        "--password-stdin"], cwd=ROOT, env=env, input=PASSWORD + "\n", text=True, check=True,
                       capture_output=True, timeout=60)
        with serve(env) as (base, server):
            token = post_json(f"{base}/auth", {"username": "writer", "password": PASSWORD})["data"]["token"]
            writing = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            node = json.loads(get(f"{base}/nodes", {"Authorization": f"Bearer {token}"})[2])["data"][0]["id"]
            seen: list[tuple[float, str, int]] = []
            stop = threading.Event()

            def client():
                count = 0
                while not stop.is_set():
                    count += 1
                    for method, path, body, headers in (
                            ("GET", "/nodes.txt", None, {}),
                            ("GET", f"/nodes/{node}", None, {"Authorization": f"Bearer {token}"}),
                            ("GET", "/health", None, {}),
                            ("PATCH", f"/nodes/{node}", json.dumps({"network": f"Net {count}"}).encode(), writing)):
                        seen.append((time.monotonic(), f"{method} {path}", status_of(base + path, method, body,
                                                                                       headers)))
                    time.sleep(0.02)

            threads = [threading.Thread(target=client) for _ in range(3)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(1.0)
                cluster.restart()
                back = time.monotonic()
                time.sleep(8.0)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=30)
        unexpected = sorted({(path, status) for _, path, status in seen if status not in (200, 503)})
        assert not unexpected, (unexpected, [line for line in server.output.splitlines() if "unhandled" in line][:3])
        failed_after = [when - back for when, _, status in seen if status == 503 and when > back]
        recovered = max(failed_after, default=0.0)
        print(f"\n{len(seen)} requests; {sum(1 for *_, s in seen if s == 503)} answered 503; the last "
              f"{recovered:.2f} s after PostgreSQL was back")
        assert recovered < 3.0
        assert all(status == 200 for when, _, status in seen if when > back + 3.0)
