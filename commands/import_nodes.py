"""`manage.py import-nodes FILE`: add or update nodes from a CSV file, all rows or none.

The file has a header row; `ip` and `city` (a GeoNames id) are required, `asn` and `network`
optional. A row whose address exists updates that node. The first bad row stops the import
with a message naming its line.
"""
import csv
import ipaddress
import sys

from models.base import MAX_ID
from models.node import MAX_ASN
from models.node_writes import NodeRow, UnknownCity, upsert_nodes

REQUIRED = ("ip", "city")
OPTIONAL = ("asn", "network")


class ImportFailed(Exception):
    pass


def parse_ip(text: str) -> str:
    if "%" in text:
        raise ValueError("a zone index (%...) is not allowed")
    return str(ipaddress.ip_address(text))


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

    ip = field("ip", parse_ip)
    city = field("city", lambda t: parse_int(t, 1, MAX_ID))
    asn = field("asn", lambda t: parse_int(t, 0, MAX_ASN) if t else None)
    network = field("network", lambda t: _network(t) or None)
    return NodeRow(line=line, ip=ip, city=city, asn=asn, network=network)


def _network(text: str) -> str:
    if len(text) > 255:
        raise ValueError("longer than 255 characters")
    if any(ord(ch) < 32 for ch in text):
        raise ValueError("control characters are not allowed")
    return text


def read_rows(path: str) -> list[NodeRow]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                return _rows(reader)
            except csv.Error as error:
                raise ImportFailed(f"line {reader.line_num}: not valid CSV: {error}") from None
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ImportFailed(f"{path} is not UTF-8 text") from None


def _rows(reader) -> list[NodeRow]:
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ImportFailed(f"line 1: the header row must name {', '.join(REQUIRED)}; missing {', '.join(missing)}")
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportFailed(f"line 1: unknown column(s) {', '.join(unknown)}; known: {', '.join(REQUIRED + OPTIONAL)}")
    if len(set(header)) != len(header):
        raise ImportFailed("line 1: a column is named twice")
    rows, first_line = [], {}
    for record in reader:
        line = reader.line_num
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


def import_file(path: str):
    rows = read_rows(path)
    try:
        return len(rows), upsert_nodes(rows)
    except UnknownCity as error:
        raise ImportFailed(str(error)) from None


def add_arguments(parser) -> None:
    parser.add_argument("file", help="CSV file with a header row: ip, city[, asn, network]")


def run(args) -> int:
    try:
        total, counts = import_file(args.file)
    except ImportFailed as error:
        print(f"import-nodes: {error}; nothing was imported", file=sys.stderr)
        return 1
    print(f"imported {total} row(s): {counts.created} new, {counts.updated} updated, {counts.unchanged} unchanged")
    return 0


COMMANDS = {"import-nodes": ("add or update nodes from a CSV file, all rows or none", add_arguments, run)}
