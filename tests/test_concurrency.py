"""Concurrent writers and readers: nothing lost, nothing half-written. (Racing logins: test_auth.py.)"""
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from models import City, Node
from models.node_writes import NodeRow, upsert_nodes
from tests.data import LONDON, PARIS
from tests.contract import ContractClient
from tests.helpers import write_csv
from tests.live_server import ROOT

pytestmark = __import__("pytest").mark.slow


def test_parallel_imports_of_overlapping_files_both_land_whole(config, db, tmp_path):
    first = write_csv(tmp_path, "ip,city,asn\n" + "".join(f"2001:db8::{i:x},{LONDON},1\n" for i in range(1, 601)), "a.csv")
    second = write_csv(tmp_path, "ip,city,asn\n" + "".join(f"2001:db8::{i:x},{PARIS},2\n"
                                                        for i in reversed(range(301, 901))), "b.csv")
    env = {"DATABASE_URL": config.database_url, "PATH": "/usr/bin:/bin"}
    imports = [subprocess.Popen([sys.executable, "manage.py", "import-nodes", path], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for path in (first, second)]
    outcomes = [process.communicate(timeout=120) + (process.returncode,) for process in imports]
    assert [returncode for _, _, returncode in outcomes] == [0, 0], outcomes
    rows = list(Node.select(Node.ip, Node.city, Node.asn, Node.country).tuples())
    assert len(rows) == len({ip for ip, *_ in rows}) == 900
    # Each row is wholly one file's: never London with the second file's ASN.
    assert {(city, asn, country) for _, city, asn, country in rows} <= {(LONDON, 1, "GB"), (PARIS, 2, "FR")}


def test_crossing_imports_leave_one_file_whole_every_round(config, db, tmp_path):
    """Two imports of the same addresses, each file putting them in its own city, racing from a state that
    is half one file and half the other: each import reads after the other commits, so the result is one
    file exactly (an import that compared rows read before it waited would skip some it believes unchanged)."""
    addresses = [f"198.51.100.{i}" for i in range(1, 201)]
    files = {city: write_csv(tmp_path, "ip,city\n" + "".join(f"{ip},{city}\n" for ip in addresses), f"{city}.csv")
             for city in (LONDON, PARIS)}
    env = {"DATABASE_URL": config.database_url, "PATH": "/usr/bin:/bin"}
    for round_number in range(6):
        Node.delete().execute()
        upsert_nodes([NodeRow(line=i, ip=ip, city=LONDON if i % 2 else PARIS, asn=None, network=None)
                      for i, ip in enumerate(addresses)])
        imports = [subprocess.Popen([sys.executable, "manage.py", "import-nodes", str(path)], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for path in (files[LONDON], files[PARIS])[::1 if round_number % 2 else -1]]
        outcomes = [process.communicate(timeout=120) + (process.returncode,) for process in imports]
        assert [returncode for _, _, returncode in outcomes] == [0, 0], outcomes
        cities = {city for (city,) in Node.select(Node.city).tuples()}
        assert len(cities) == 1 and Node.select().count() == len(addresses), (round_number, cities)


def test_readers_of_the_text_list_see_whole_imports_only(app, db):
    batches, size = 12, 100
    addresses = [[f"2001:db8::{b * size + i + 1:x}" for i in range(size)] for b in range(batches)]
    # The list is in id order; each import takes the next ids, in the order of its rows.
    expected = [ip for batch in addresses for ip in batch]
    seen, problems = [], []
    done = threading.Event()

    def read():
        client = ContractClient(app)
        while True:
            finished = done.is_set()  # one more read after the last import has committed
            lines = client.simulate_get("/nodes.txt").text.splitlines()
            if len(lines) % size or lines != expected[:len(lines)]:
                problems.append(len(lines))
            seen.append(len(lines))
            if finished:
                break

    with ThreadPoolExecutor(4) as pool:
        readers = [pool.submit(read) for _ in range(4)]
        for batch in addresses:
            upsert_nodes([NodeRow(line=line, ip=ip, city=LONDON) for line, ip in enumerate(batch, 1)])
            # Paced by the readers (not by time): each import is read at least once before the next, so the
            # reads interleave with the imports however busy the machine is.
            reads = len(seen)
            while len(seen) == reads and not problems:
                time.sleep(0.001)
        done.set()
        for reader in readers:
            reader.result()
    assert not problems, problems
    assert len(seen) > batches and max(seen) == batches * size


def test_two_api_writers_and_an_importer_at_once(config, db, tmp_path):
    """Through gunicorn: two clients creating, moving and deleting nodes over shared addresses while
    `manage.py import-nodes` writes a file touching some of them. Nothing deadlocks or fails with a 5xx; every
    node's place is its city's; the import lands whole (its own addresses all hold the file's values)."""
    import json
    import random
    import time
    import urllib.error
    from datetime import datetime, timezone
    import urllib.request

    from security.tokens import TokenService
    from tests.data import BERLIN, TOKYO, make_user
    from tests.live_server import procfile_env, serve

    user = make_user("concurrent", permissions=["nodes:write"])
    shared = [f"203.0.113.{i}" for i in range(1, 31)]
    own = [f"198.18.{i // 250}.{i % 250 + 1}" for i in range(600)]
    env = procfile_env(config.database_url, workers=2, JWT_SECRET=config.jwt_secret)
    tokens = TokenService(config, lambda: datetime.now(timezone.utc))
    bearer = {"Authorization": f"Bearer {tokens.issue(user, auth_time=int(time.time())).token}"}
    statuses, failures = [], []

    def call(base, method, path, body=None):
        request = urllib.request.Request(base + path, method=method, headers={**bearer, "Content-Type": "application/json"},
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def api_writer(base, seed):
        rng = random.Random(seed)
        for _ in range(60):
            ip = rng.choice(shared)
            action = rng.random()
            if action < 0.5:
                status = call(base, "POST", "/nodes", {"ip": ip, "city": rng.choice([LONDON, PARIS, BERLIN])})
            else:
                found = Node.get_or_none(Node.ip == ip)
                node_id = found.id if found else 2**31 - 1
                status = (call(base, "PATCH", f"/nodes/{node_id}", {"city": rng.choice([TOKYO, PARIS])})
                          if action < 0.8 else call(base, "DELETE", f"/nodes/{node_id}"))
            statuses.append(status)

    with serve(env) as (base, _):
        for round_number in range(3):
            rows = [f"{ip},{(LONDON, PARIS)[round_number % 2]},{round_number}" for ip in own + shared[:10]]
            path = write_csv(tmp_path, "ip,city,asn\n" + "\n".join(rows) + "\n", f"round{round_number}.csv")
            importer = subprocess.Popen([sys.executable, "manage.py", "import-nodes", path], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            writers = [threading.Thread(target=api_writer, args=(base, round_number * 10 + i)) for i in range(2)]
            for writer in writers:
                writer.start()
            for writer in writers:
                writer.join(timeout=120)
            out, err = importer.communicate(timeout=120)
            if importer.returncode != 0:
                failures.append(err)
            stored = dict(Node.select(Node.ip, Node.asn).where(Node.ip.in_(own)).tuples())
            assert stored == {ip: round_number for ip in own}, "the import did not land whole"
    assert not failures, failures
    assert statuses and set(statuses) <= {200, 201, 204, 404, 409}, sorted(set(statuses))
    misplaced = (Node.select().join(City, on=(Node.city == City.id))
                 .where((Node.country != City.country) | (Node.region != City.region)).count())
    assert misplaced == 0
