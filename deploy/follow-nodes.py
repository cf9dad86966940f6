#!/usr/bin/env python3
"""A sidecar keeping an allow-list file current from the change feed (contract §13); Python's standard library
only.

It reads the whole list once (/nodes pages, all at one data version), then follows /nodes/changes from that
version, rewriting the file (atomically, one address a line, sorted) only when the set of addresses changed.
When the feed answers 410 (it was away longer than the kept history) it reads the whole list again.

    follow-nodes.py --url http://127.0.0.1:8000 --out /etc/nginx/perfops-allow.txt [--query family=4] [--every 5]
"""
import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read()), response.headers


def whole_list(base: str, query: str) -> tuple[dict, int]:
    """id -> address of every node, and the data version they are at (every page at the same one)."""
    while True:
        nodes, version, page = {}, None, 1
        while page:
            body, headers = get(f"{base}/nodes?perPage=1000&page={page}" + (f"&{query}" if query else ""))
            if version is None:
                version = int(headers["X-Data-Version"])
            elif int(headers["X-Data-Version"]) != version:
                break  # the list changed while it was read: read it again
            nodes.update((node["id"], node["ip"]) for node in body["data"])
            page = page + 1 if body["meta"]["pagination"]["links"]["next"] else 0
        else:
            return nodes, version


def caught_up(base: str, query: str, nodes: dict, version: int) -> int | None:
    """`nodes` with every change after `version` applied; the version reached, or None: history is gone."""
    url = f"{base}/nodes/changes?after={version}" + (f"&{query}" if query else "")
    while url:
        try:
            body, _ = get(url)
        except urllib.error.HTTPError as error:
            if error.code == 410:
                return None
            raise
        for entry in body["data"]:
            if entry["action"] == "removed":
                nodes.pop(entry["node"]["id"], None)
            else:
                nodes[entry["node"]["id"]] = entry["node"]["ip"]
        version = body["meta"]["version"]
        url = base + body["meta"]["next"] if body["meta"]["next"] else None
    return version


def write(path: str, nodes: dict) -> bool:
    """The file holds the addresses, one a line; False when it already did."""
    text = "".join(f"{ip}\n" for ip in sorted(set(nodes.values())))
    try:
        with open(path) as current:
            if current.read() == text:
                return False
    except FileNotFoundError:
        pass
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False) as out:
        out.write(text)
    os.chmod(out.name, 0o644)
    os.replace(out.name, path)  # readers see the old file or the new one, never half of one
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", required=True)
    parser.add_argument("--query", default="", help="filters of /nodes, e.g. family=4 or country=GB,FR")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between polls")
    args = parser.parse_args()
    nodes, version = whole_list(args.url, args.query)
    while True:
        try:
            reached = caught_up(args.url, args.query, nodes, version)
            if reached is None:
                print("history gone: reading the whole list again", file=sys.stderr, flush=True)
                nodes, version = whole_list(args.url, args.query)
                continue
            version = reached
            if write(args.out, nodes):
                print(f"wrote {len(nodes)} addresses at version {version}", file=sys.stderr, flush=True)
        except (OSError, ValueError) as error:  # the service away or answering oddly: try again later
            print(f"poll failed: {error}", file=sys.stderr, flush=True)
        time.sleep(args.every)


if __name__ == "__main__":
    main()
