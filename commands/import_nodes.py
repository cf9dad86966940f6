"""`manage.py import-nodes [--sync [--allow-removals N]] FILE` and `manage.py remove-nodes IP...` (contract §8, §10).

The file has a header row; `ip` and `city` (a GeoNames id) are required, `asn` and `network` optional. A row
whose address exists updates that node. The first bad row stops the import with a message naming its line,
and nothing is written. With --sync, the nodes not in the file are removed too, within the guard. Each change
is one JSON line on standard output (action, node id, address, `manage.py`) once it has been committed, for the
first LOGGED_CHANGES changes; then one line counts them all (contract §14).
"""
import csv
import sys

from marshmallow import ValidationError

from models.base import MAX_ID
from models.node import MAX_ASN
from models.node_writes import (NodeRow, TooManyRemovals, UnknownAddresses, UnknownCity, remove_nodes, sync_nodes,
                                upsert_nodes)
from observability.logs import changes_logged
from schemas.fields import NETWORK_NAME, canonical_address

ACTOR = "manage.py"
# Changes logged one line each before the summary line: a bounded burst however large the file.
LOGGED_CHANGES = 1000

REQUIRED = ("ip", "city")
OPTIONAL = ("asn", "network")


class ImportFailed(Exception):
    pass


def parse_int(text: str, low: int, high: int) -> int:
    value = int(text, 10)
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}")
    return value


def parse_row(line: int, record: dict) -> NodeRow:
    def field(name, parse):
        text = (record.get(name) or "").strip()
        try:
            return parse(text)
        except ValueError as error:
            raise ImportFailed(f"line {line}: {name} {text[:60]!r} is not valid: {error}") from None

    ip = field("ip", canonical_address)
    city = field("city", lambda t: parse_int(t, 1, MAX_ID))
    asn = field("asn", lambda t: parse_int(t, 0, MAX_ASN) if t else None)
    network = field("network", lambda t: _network(t) or None)
    return NodeRow(line=line, ip=ip, city=city, asn=asn, network=network)


def _network(text: str) -> str:
    """The API's rules for a network name (schemas/fields.py), as a ValueError here."""
    for check in NETWORK_NAME:
        try:
            check(text)
        except ValidationError as error:
            raise ValueError(" ".join(error.messages).rstrip(".").lower()) from None
    return text


def read_rows(path: str) -> list[NodeRow]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _rows(csv.reader(handle, strict=True))
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ImportFailed(f"{path} is not UTF-8 text") from None


def numbered(reader):
    """(the line a record starts on, the record): a quoted field may span lines, and a quote never closed
    is reported where it opened, not at the end of the file."""
    end = 0
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            unclosed = " (a quoted field starting on this line is never closed)" if "end of data" in str(error) else ""
            raise ImportFailed(f"line {start}: not valid CSV: {error}{unclosed}") from None
        end = reader.line_num
        yield start, record


def _rows(reader) -> list[NodeRow]:
    records = numbered(reader)
    header = [name.strip().lower() for name in next(records, (1, []))[1]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFailed(f"line 1: the header row must name {', '.join(REQUIRED)}; missing {', '.join(missing)}")
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportFailed(f"line 1: unknown column(s) {', '.join(unknown)}; known: {', '.join(REQUIRED + OPTIONAL)}")
    if len(set(header)) != len(header):
        raise ImportFailed("line 1: a column is named twice")
    rows, first_line = [], {}
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue  # blank lines are allowed
        if len(record) != len(header):
            raise ImportFailed(f"line {line}: {len(record)} fields, but the header has {len(header)}")
        row = parse_row(line, dict(zip(header, record)))
        if row.ip in first_line:
            raise ImportFailed(f"line {line}: ip {row.ip} is already on line {first_line[row.ip]}")
        first_line[row.ip] = line
        rows.append(row)
    return rows


def import_file(path: str, sync: bool = False, allow_removals: int | None = None, changes=None):
    rows = read_rows(path)
    try:
        if sync:
            return len(rows), sync_nodes(rows, allow_removals, changes)
        return len(rows), upsert_nodes(rows, changes)
    except (UnknownCity, TooManyRemovals) as error:
        raise ImportFailed(str(error)) from None


def add_arguments(parser) -> None:
    parser.add_argument("file", help="CSV file with a header row: ip, city[, asn, network]")
    parser.add_argument("--sync", action="store_true",
                        help="also remove the nodes that are not in the file (at most 10%% of them, unless "
                             "--allow-removals says more)")
    parser.add_argument("--allow-removals", type=int, metavar="N",
                        help="with --sync: up to N nodes may be removed, even past 10%% of the stored ones")


def run(args) -> int:
    if args.allow_removals is not None and (not args.sync or args.allow_removals < 0):
        print("import-nodes: --allow-removals takes a count of 0 or more, with --sync", file=sys.stderr)
        return 2
    try:
        with changes_logged(ACTOR, LOGGED_CHANGES) as changes:
            total, counts = import_file(args.file, args.sync, args.allow_removals, changes)
    except ImportFailed as error:
        print(f"import-nodes: {error}; nothing was imported", file=sys.stderr)
        return 1
    summary = f"{counts.created} new, {counts.updated} updated, {counts.unchanged} unchanged"
    if args.sync:
        print(f"synced {total} row(s): {summary}, {counts.removed} removed")
    else:
        print(f"imported {total} row(s): {summary}")
    return 0


def remove_arguments(parser) -> None:
    parser.add_argument("ips", nargs="+", metavar="IP", help="the address of a node to remove")


def remove(args) -> int:
    try:
        ips = [canonical_address(ip.strip(), node=False) for ip in args.ips]
    except ValueError as error:
        print(f"remove-nodes: {error}; nothing was removed", file=sys.stderr)
        return 1
    try:
        with changes_logged(ACTOR, LOGGED_CHANGES) as changes:
            removed = remove_nodes(ips, changes)
    except UnknownAddresses as error:
        print(f"remove-nodes: {error}; nothing was removed", file=sys.stderr)
        return 1
    print(f"removed {len(removed)} node(s)")
    return 0


COMMANDS = {
    "import-nodes": ("add or update nodes from a CSV file, all rows or none; --sync also removes the others",
                     add_arguments, run),
    "remove-nodes": ("remove the nodes with these addresses (all, or none if one is unknown)",
                     remove_arguments, remove),
}
