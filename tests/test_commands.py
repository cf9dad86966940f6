"""manage.py as an operator runs it: migrate, seed, import-nodes (contract §8)."""
import json
import os
import subprocess
import sys

import pytest

from commands.import_nodes import ImportFailed, read_rows
from models import City, Country, DataVersion, Node, Region
from tests.data import BERLIN, LONDON, PARIS
from tests.helpers import data_version, manage, write_csv
from tests.live_server import ROOT

def test_migrate_is_idempotent(config, db):
    result = manage(config, "migrate")
    assert result.returncode == 0 and "schema is up to date" in result.stdout


def test_seed_loads_the_reference_data_and_a_second_run_changes_nothing(config, db):
    assert (Region.select().count(), Country.select().count()) == (23, 249)
    assert City.select().count() == 33985
    assert City.get_by_id(LONDON).country_id == "GB"
    version = data_version()
    result = manage(config, "seed")
    assert result.returncode == 0, result.stderr
    assert "regions: 23 (0 new, 0 updated)" in result.stdout
    assert "countries: 249 (0 new, 0 updated)" in result.stdout
    assert "cities: 33985 (0 new, 0 updated)" in result.stdout
    assert data_version() == version


def test_every_city_has_its_countrys_region(db):
    mismatched = City.select().join(Country).where(City.region != Country.region).count()
    assert mismatched == 0
    assert not City.select().where(City.country == "XK").exists()


def test_demo_nodes_are_deterministic_and_documentation_addresses(config, db):
    assert manage(config, "seed", "--demo-nodes", "800").returncode == 0
    first = list(Node.select(Node.id, Node.ip, Node.city).order_by(Node.id).tuples())
    assert len(first) == 800
    assert manage(config, "seed", "--demo-nodes", "800").stdout.count("(0 new, 0 updated)") == 4
    assert list(Node.select(Node.id, Node.ip, Node.city).order_by(Node.id).tuples()) == first
    import ipaddress
    ranges = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    assert all(any(ipaddress.ip_address(ip) in net for net in ranges) for _, ip, _ in first)
    assert any(":" in ip for _, ip, _ in first)  # past the 762 IPv4 documentation hosts
    # Weighted by population: the biggest cities draw more than one node.
    assert len({city for _, _, city in first}) < 800


def test_seed_rejects_a_negative_demo_count(config, db):
    assert manage(config, "seed", "--demo-nodes", "-1").returncode != 0


def test_import_adds_and_updates_in_place(config, db, tmp_path):
    path = write_csv(tmp_path, f"ip,city,asn,network\n192.0.2.1,{LONDON},13335,\"Cloudflare, Inc.\"\n"
                               f"2001:DB8:0:0::10,{PARIS},,\n")
    result = manage(config, "import-nodes", path)
    assert result.returncode == 0, result.stderr
    assert "2 new, 0 updated" in result.stdout
    london = Node.get(Node.ip == "192.0.2.1")
    assert (london.asn, london.network, london.country_id, london.region_id) == (13335, "Cloudflare, Inc.", "GB", 154)
    paris = Node.get(Node.ip == "2001:db8::10")  # stored canonical
    assert (paris.asn, paris.network, paris.country_id) == (None, None, "FR")

    path = write_csv(tmp_path, f"city,ip\n{BERLIN},192.0.2.1\n{PARIS},2001:db8::10\n", "again.csv")
    result = manage(config, "import-nodes", path)
    assert "0 new, 1 updated, 1 unchanged" in result.stdout, result.stdout
    moved = Node.get(Node.ip == "192.0.2.1")
    assert moved.id == london.id and (moved.country_id, moved.region_id, moved.asn) == ("DE", 155, None)


@pytest.mark.parametrize("text, message", [
    (f"ip,city\n192.0.2.1,{LONDON}\nnot-an-ip,{LONDON}\n", "line 3: ip 'not-an-ip' is not valid"),
    (f"ip,city\n192.0.2.1,{LONDON}\n192.0.2.2,abc\n", "line 3: city 'abc' is not valid"),
    (f"ip,city,asn\n192.0.2.1,{LONDON},-5\n", "line 2: asn '-5' is not valid"),
    (f"ip,city\n192.0.2.1,{LONDON}\n192.0.2.1,{PARIS}\n", "line 3: ip 192.0.2.1 is already on line 2"),
    (f"ip,city\n192.0.2.1,{LONDON},extra\n", "line 2: 3 fields, but the header has 2"),
    ("ip,asn\n192.0.2.1,5\n", "line 1: the header row must name ip, city; missing city"),
    ("ip,city,colour\n", "line 1: unknown column(s) colour"),
    ("", "missing ip, city"),
    (f"ip,city\nfe80::1%eth0,{LONDON}\n", "line 2: ip 'fe80::1%eth0' is not valid"),
    (f'ip,city,network\n192.0.2.1,{LONDON},"unclosed\n', "not valid CSV"),
    (f"ip,city\n192.0.2.1,{LONDON}\n::ffff:192.0.2.9,{LONDON}\n",
     ("line 3: ip '::ffff:192.0.2.9' is not valid", "give the IPv4 address 192.0.2.9")),
    *[(f"ip,city\n192.0.2.1,{LONDON}\n{ip},{LONDON}\n",
       (f"line 3: ip '{ip}' is not valid", "cannot be a measurement node"))
      for ip in ("0.0.0.0", "::1", "224.0.0.1", "255.255.255.255")],
])
def test_a_bad_file_is_refused_naming_its_line(tmp_path, text, message):
    """What the file says is checked before the database is touched (read_rows), in process and once, not per
    database; the one case below shows the whole command as an operator meets it."""
    with pytest.raises(ImportFailed) as refused:
        read_rows(write_csv(tmp_path, text))
    assert all(part in str(refused.value) for part in ((message,) if isinstance(message, str) else message))


def test_a_bad_row_stops_the_whole_import(config, db, tmp_path):
    """As an operator runs it: exit status 1, the line named, nothing written (the bad row after a good one)."""
    Node.delete().execute()
    result = manage(config, "import-nodes", write_csv(tmp_path, f"ip,city\n192.0.2.1,{LONDON}\n\n192.0.2.2,1\n"))
    assert result.returncode == 1
    assert "line 4: city 1 is not a known GeoNames city id; nothing was imported" in result.stderr, result.stderr
    assert Node.select().count() == 0


def test_a_large_import_writes_every_kind_of_value_and_counts_right(config, db, tmp_path):
    """Large enough for PostgreSQL's COPY path (the batched one on SQLite): quotes, commas, Unicode and
    no value at all survive; a second file with a few changes counts them; ids follow the file's order."""
    networks = ['He said "hi", then left', "Ünïcödé, GmbH", "", "plain"]
    lines = ["ip,city,asn,network"] + [
        f'198.18.{i // 250}.{i % 250 + 1},{(LONDON, PARIS, BERLIN)[i % 3]},{"" if i % 5 == 0 else 64496 + i % 7},'
        + ('"' + networks[i % 4].replace('"', '""') + '"' if networks[i % 4] else "")
        for i in range(2500)]
    imported = manage(config, "import-nodes", write_csv(tmp_path, "\n".join(lines) + "\n"))
    assert imported.stdout.endswith("2500 new, 0 updated, 0 unchanged\n")
    # A bounded log (contract §14): a line for each of the first 1,000 changes, then one that counts them all.
    assert [line["ip"] for line in node_lines(imported.stdout)] == [line.split(",")[0] for line in lines[1:1001]]
    (summary,) = summary_lines(imported.stdout)
    assert (summary["changes"], summary["logged"], summary["created"], summary["updated"], summary["removed"]) == (
        2500, 1000, 2500, 0, 0)
    rows = list(Node.select(Node.ip, Node.asn, Node.network, Node.country).order_by(Node.id).tuples())
    assert [ip for ip, *_ in rows] == [line.split(",")[0] for line in lines[1:]]
    assert rows[0] == ("198.18.0.1", None, 'He said "hi", then left', "GB")
    assert rows[1] == ("198.18.0.2", 64497, "Ünïcödé, GmbH", "FR") and rows[2][2] is None

    changed = lines[:1] + [line.replace(f",{LONDON},", f",{PARIS},") if i < 10 else line
                           for i, line in enumerate(lines[1:])]
    result = manage(config, "import-nodes", write_csv(tmp_path, "\n".join(changed) + "\n", "changed.csv"))
    assert result.stdout.endswith("0 new, 4 updated, 2496 unchanged\n"), result.stdout  # 4 of the first 10 were London
    assert len(node_lines(result.stdout)) == 4 and summary_lines(result.stdout)[0]["updated"] == 4

    unknown = lines + [f"203.0.113.7,{LONDON},,", "203.0.113.8,7,,"]
    result = manage(config, "import-nodes", write_csv(tmp_path, "\n".join(unknown) + "\n", "unknown.csv"))
    assert result.returncode == 1 and "line 2503: city 7 is not a known GeoNames city id" in result.stderr
    assert Node.select().count() == 2500


def test_import_of_a_missing_file_fails_cleanly(config, db, tmp_path):
    result = manage(config, "import-nodes", str(tmp_path / "absent.csv"))
    assert result.returncode == 1 and "cannot read" in result.stderr


def test_a_failing_row_rolls_back_rows_already_written(db):
    """The database's own all-or-nothing: the unknown city is found inside the transaction."""
    from models.node_writes import NodeRow, UnknownCity, upsert_nodes

    rows = [NodeRow(line=2, ip="192.0.2.50", city=LONDON), NodeRow(line=3, ip="192.0.2.51", city=7)]
    with pytest.raises(UnknownCity):
        upsert_nodes(rows)
    assert Node.select().count() == 0


def test_triggers_move_the_data_version_on_every_kind_of_write(db):
    from models.node_writes import NodeRow, upsert_nodes

    before = data_version()
    upsert_nodes([NodeRow(line=1, ip="192.0.2.9", city=LONDON)])
    after_insert = data_version()
    Node.update(asn=1).execute()
    after_update = data_version()
    Node.delete().execute()
    assert before < after_insert < after_update < data_version()
    assert DataVersion.select().count() == 1


def on_test_server(path_and_query: str) -> str | None:
    """A URL on the PostgreSQL server TEST_DATABASE_URL names (None without one: the case is skipped)."""
    base = os.environ.get("TEST_DATABASE_URL")
    return base and base.rsplit("/", 1)[0] + path_and_query


@pytest.mark.parametrize("url, says", [
    ("postgresql://postgres@127.0.0.1:1/perfops", "cannot use the database: connection to server at"),
    (on_test_server("/perfops_no_such_database"), 'database "perfops_no_such_database" does not exist'),
    (on_test_server("/postgres?sslmode=require"), "SSL"),
    ("sqlite:////nonexistent-folder/perfops.db", "cannot use the database: unable to open database file"),
    ("mysql://root@localhost/perfops", "DATABASE_URL must be a postgresql://, postgres:// or sqlite:/// URL"),
    ("postgresql://postgres@127.0.0.1:notaport/x", "DATABASE_URL has a port that is not a number"),
    ("sqlite://", "DATABASE_URL names no database"),
])
@pytest.mark.parametrize("command", ["release", "migrate"])
def test_a_database_that_cannot_be_used_is_one_line_and_status_1(command, url, says):
    if url is None:
        pytest.skip("needs the PostgreSQL server of TEST_DATABASE_URL")
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "manage.py", command], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert says in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def node_lines(output: str) -> list[dict]:
    """The change log's line for each change."""
    return [line for line in perfops_nodes_lines(output) if "action" in line]


def summary_lines(output: str) -> list[dict]:
    """The change log's summary of a bulk change."""
    return [line for line in perfops_nodes_lines(output) if "changes" in line]


def perfops_nodes_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if '"perfops.nodes"' in line]


def test_sync_makes_the_nodes_exactly_the_files(config, db, tmp_path):
    rows = "".join(f"192.0.2.{i},{LONDON}\n" for i in range(1, 21))
    manage(config, "import-nodes", write_csv(tmp_path, "ip,city\n" + rows))
    kept = "".join(f"192.0.2.{i},{LONDON}\n" for i in range(1, 19))  # two of twenty go: 10 %
    result = manage(config, "import-nodes", "--sync", write_csv(tmp_path, "ip,city\n" + kept
                                                                 + f"198.51.100.1,{PARIS}\n", "sync.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("synced 19 row(s): 1 new, 0 updated, 18 unchanged, 2 removed\n")
    assert sorted(ip for (ip,) in Node.select(Node.ip).tuples()) == sorted(
        [f"192.0.2.{i}" for i in range(1, 19)] + ["198.51.100.1"])
    lines = node_lines(result.stdout)
    assert sorted((line["action"], line["ip"]) for line in lines) == [
        ("created", "198.51.100.1"), ("removed", "192.0.2.19"), ("removed", "192.0.2.20")]
    assert {line["user_id"] for line in lines} == {"manage.py"} and len({line["request_id"] for line in lines}) == 1


def test_sync_refuses_to_remove_more_than_a_tenth_unless_told_how_many(config, db, tmp_path):
    manage(config, "import-nodes", write_csv(tmp_path, "ip,city\n" + "".join(
        f"192.0.2.{i},{LONDON}\n" for i in range(1, 21))))
    truncated = write_csv(tmp_path, f"ip,city\n192.0.2.1,{PARIS}\n192.0.2.2,{LONDON}\n", "truncated.csv")
    refused = manage(config, "import-nodes", "--sync", truncated)
    assert refused.returncode == 1
    assert "would remove 18 of the 20 stored nodes" in refused.stderr and "--allow-removals 18" in refused.stderr
    too_few = manage(config, "import-nodes", "--sync", "--allow-removals", "17", truncated)
    assert too_few.returncode == 1 and "--allow-removals 17 allows fewer" in too_few.stderr
    # Nothing changed, the update of 192.0.2.1 included: all or nothing.
    assert Node.select().count() == 20 and Node.get(Node.ip == "192.0.2.1").city_id == LONDON
    assert node_lines(refused.stdout + too_few.stdout) == []
    allowed = manage(config, "import-nodes", "--sync", "--allow-removals", "18", truncated)
    assert allowed.returncode == 0 and allowed.stdout.endswith("1 updated, 1 unchanged, 18 removed\n")
    assert Node.select().count() == 2


def test_an_empty_file_cannot_empty_the_list_by_accident(config, db, tmp_path):
    manage(config, "import-nodes", write_csv(tmp_path, f"ip,city\n192.0.2.1,{LONDON}\n"))
    assert manage(config, "import-nodes", "--sync", write_csv(tmp_path, "ip,city\n", "empty.csv")).returncode == 1
    assert Node.select().count() == 1


@pytest.mark.parametrize("args", [["--allow-removals", "3", "x.csv"], ["--sync", "--allow-removals", "-1", "x.csv"]])
def test_allow_removals_goes_with_sync(config, db, args):
    assert manage(config, "import-nodes", *args).returncode == 2


def test_remove_nodes_removes_the_named_ones_or_none(config, db, tmp_path):
    manage(config, "import-nodes", write_csv(tmp_path, f"ip,city\n192.0.2.1,{LONDON}\n2001:db8::1,{PARIS}\n"))
    unknown = manage(config, "remove-nodes", "192.0.2.1", "198.51.100.9")
    assert unknown.returncode == 1 and "no node has the address 198.51.100.9; nothing was removed" in unknown.stderr
    assert Node.select().count() == 2
    bad = manage(config, "remove-nodes", "not-an-address")
    assert bad.returncode == 1 and "nothing was removed" in bad.stderr
    removed = manage(config, "remove-nodes", "192.0.2.1", "2001:DB8:0::1")  # any written form of the address
    assert removed.returncode == 0 and removed.stdout.endswith("removed 2 node(s)\n")
    assert Node.select().count() == 0 and len(node_lines(removed.stdout)) == 2
