"""Concurrent writers and readers: nothing lost, nothing half-written. (Racing logins: test_auth.py.)"""
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from models import Node
from models.node_writes import NodeRow, upsert_nodes
from tests.conftest import LONDON, PARIS
from tests.contract import ContractClient
from tests.test_commands import ROOT, write_csv

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
        done.set()
        for reader in readers:
            reader.result()
    assert not problems, problems
    assert len(seen) > batches and max(seen) == batches * size
