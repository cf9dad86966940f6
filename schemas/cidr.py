"""The address list as CIDR blocks (contract §11): the fewest blocks covering exactly the addresses.

Each maximal run of consecutive addresses is summarised by `ipaddress.summarize_address_range`, which is what
`ipaddress.collapse_addresses` does after building an object per address (2 s for 100,000 scattered
addresses). Here the addresses become integers in C (`inet_pton` over the whole list, read as big-endian
arrays), are sorted and split into runs by numpy, and only runs longer than one address (rare in scattered
lists) go through `ipaddress`; a run of one is its own text with `/32` or `/128`. Runs are maximal, so no
block of one can merge with a block of another: the result is the collapsed one (tests compare it with
`collapse_addresses`). About 0.3 µs an address.

`AddressOrder` keeps the sorting for a whole list, so that the blocks of any subset of it are found by
selecting from it (the read model does this once per data version, then a subset costs no parsing or sorting).
"""
from __future__ import annotations

import socket
from functools import partial
from ipaddress import IPv4Address, IPv6Address, summarize_address_range
from typing import Iterator, NamedTuple

import numpy as np

PACK = {4: partial(socket.inet_pton, socket.AF_INET), 6: partial(socket.inet_pton, socket.AF_INET6)}
SUFFIX = {4: "/32", 6: "/128"}
TOP = np.uint64(2**64 - 1)


class AddressOrder(NamedTuple):
    """One family's distinct addresses in address order: `order` holds their positions in the list they came
    from; `follows[i]` says that the address at order[i + 1] is the one at order[i] plus one."""

    order: np.ndarray
    follows: np.ndarray

    def picked(self, chosen: np.ndarray) -> np.ndarray:
        """Where in this order the addresses of a subset are, given which of the list's positions are in it (a
        mask over positions); ascending."""
        return np.flatnonzero(chosen[self.order])

    def follows_within(self, picked: np.ndarray) -> np.ndarray:
        """`follows` for the subset at `picked`."""
        return (np.diff(picked) == 1) & self.follows[picked[:-1]]


def address_order(addresses: list[str], family: int) -> AddressOrder:
    """The address order of `addresses` (canonical, distinct, all of `family`)."""
    return packed_order(b"".join(map(PACK[family], addresses)), family)


def packed(lines: bytes, family: int) -> bytes:
    """Addresses of `family` one a line -> their binary forms, one after the other."""
    return b"".join(map(PACK[family], lines.decode("ascii").split()))


def packed_order(addresses: bytes, family: int) -> AddressOrder:
    """The address order of `addresses` (binary forms of `family`, one after the other, distinct)."""
    if not addresses:
        return AddressOrder(np.empty(0, dtype=np.int64), np.empty(0, dtype=bool))
    packed = np.frombuffer(addresses, dtype=">u8" if family == 6 else ">u4")
    if family == 4:
        values = packed.astype(np.int64)
        order = np.argsort(values, kind="stable")
        values = values[order]
        follows = np.diff(values) == 1
    else:
        high, low = packed[0::2].astype(np.uint64), packed[1::2].astype(np.uint64)
        order = np.lexsort((low, high))
        high, low = high[order], low[order]
        follows = (((high[1:] == high[:-1]) & (low[1:] == low[:-1] + np.uint64(1)) & (low[:-1] != TOP))
                   | ((high[1:] == high[:-1] + np.uint64(1)) & (low[:-1] == TOP) & (low[1:] == 0)))
    return AddressOrder(order, follows)


def blocks(lines: bytes, follows: np.ndarray, family: int) -> bytes:
    """The blocks of addresses given one a line in address order, with `follows` as in `AddressOrder`. A run of
    one address is its line with the suffix (a byte replacement over the stretches between longer runs); only
    the longer runs go through `ipaddress`."""
    if not lines:
        return b""
    with_suffix = SUFFIX[family].encode("ascii") + b"\n"
    if not follows.any():  # every run is one address (scattered lists)
        return lines.replace(b"\n", with_suffix)
    line_ends = np.flatnonzero(np.frombuffer(lines, dtype=np.uint8) == 10)
    line_starts = np.concatenate(([0], line_ends[:-1] + 1))
    run_ends = np.append(np.flatnonzero(~follows), len(line_ends) - 1)
    run_starts = np.concatenate(([0], run_ends[:-1] + 1))
    longer = run_ends > run_starts
    kind = IPv4Address if family == 4 else IPv6Address
    out, done = [], 0
    for first, last in zip(run_starts[longer].tolist(), run_ends[longer].tolist()):
        out.append(lines[done:line_starts[first]].replace(b"\n", with_suffix))
        low = lines[line_starts[first]:line_ends[first]].decode("ascii")
        high = lines[line_starts[last]:line_ends[last]].decode("ascii")
        out.append("".join(f"{block}\n" for block in summarize_address_range(kind(low), kind(high))).encode("ascii"))
        done = int(line_ends[last]) + 1
    out.append(lines[done:].replace(b"\n", with_suffix))
    return b"".join(out)


# Lines turned into blocks at once by `blocks_in_chunks`.
BLOCKED_AT_ONCE = 50_000


def blocks_in_chunks(lines_of, follows: np.ndarray, count: int, family: int,
                     at_once: int = BLOCKED_AT_ONCE) -> Iterator[bytes]:
    """The blocks of `count` addresses in address order, as `blocks` gives them, a chunk of lines at a time
    (never cutting a run): `lines_of(start, end)` gives the lines of positions start..end-1. All the lines of
    a family at once had cost 130 MiB at the peak for the blocks of 1,000,000 nodes, in each worker asked; a
    file is written from this generator's chunks (readmodel/list_files.py)."""
    breaks = np.append(np.flatnonzero(~follows) + 1, count)  # where each run begins, and the end
    start = 0
    while start < count:
        end = int(breaks[np.searchsorted(breaks, min(start + at_once, count))])
        yield blocks(lines_of(start, end), follows[start:end - 1], family)
        start = end


def cidr_text(lines: bytes) -> bytes:
    """Addresses one a line (canonical, distinct) -> blocks one a line: IPv4 then IPv6, in address order."""
    addresses = lines.decode("ascii").split()
    v4 = [address for address in addresses if ":" not in address]
    v6 = [address for address in addresses if ":" in address] if len(v4) < len(addresses) else []
    return _blocks_of(v4, 4) + _blocks_of(v6, 6)


def _blocks_of(addresses: list[str], family: int) -> bytes:
    order, follows = address_order(addresses, family)
    return blocks("".join(addresses[index] + "\n" for index in order.tolist()).encode("ascii"), follows, family)
