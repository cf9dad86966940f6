"""The address list as CIDR blocks (contract §11): the fewest blocks covering exactly the addresses.

Each maximal run of consecutive addresses is summarised by `ipaddress.summarize_address_range`, which is what
`ipaddress.collapse_addresses` does after building an object per address (2 s for 100,000 scattered
addresses). Here the addresses become integers in C (`inet_pton` over the whole list, read as big-endian
arrays), are sorted and split into runs by numpy, and only runs longer than one address (rare in scattered
lists) go through `ipaddress`; a run of one is its own text with `/32` or `/128`. Runs are maximal, so no
block of one can merge with a block of another: the result is the collapsed one (tests compare it with
`collapse_addresses`). About 0.3 µs an address.
"""
from __future__ import annotations

import socket
from functools import partial
from ipaddress import IPv4Address, IPv6Address, summarize_address_range

import numpy as np

PACK = {4: partial(socket.inet_pton, socket.AF_INET), 6: partial(socket.inet_pton, socket.AF_INET6)}


def cidr_text(lines: bytes) -> bytes:
    """Addresses one a line (canonical, distinct) -> blocks one a line: IPv4 then IPv6, in address order."""
    addresses = lines.decode("ascii").split()
    v4 = [address for address in addresses if ":" not in address]
    v6 = [address for address in addresses if ":" in address] if len(v4) < len(addresses) else []
    return (_blocks(v4, 4) + _blocks(v6, 6)).encode("ascii")


def _blocks(addresses: list[str], family: int) -> str:
    if not addresses:
        return ""
    packed = np.frombuffer(b"".join(map(PACK[family], addresses)), dtype=">u8" if family == 6 else ">u4")
    if family == 4:
        values = packed.astype(np.int64)
        order = np.argsort(values, kind="stable")
        values = values[order]
        follows = np.diff(values) == 1  # address i + 1 is address i plus one
    else:
        high, low = packed[0::2].astype(np.uint64), packed[1::2].astype(np.uint64)
        order = np.lexsort((low, high))
        high, low = high[order], low[order]
        top = np.uint64(2**64 - 1)
        follows = (((high[1:] == high[:-1]) & (low[1:] == low[:-1] + np.uint64(1)) & (low[:-1] != top))
                   | ((high[1:] == high[:-1] + np.uint64(1)) & (low[:-1] == top) & (low[1:] == 0)))
    ends = np.flatnonzero(~follows).tolist() + [len(order) - 1]
    ordered = [addresses[index] for index in order.tolist()]
    suffix = "/32" if family == 4 else "/128"
    if len(ends) == len(ordered):  # every run is one address (scattered lists): no ipaddress at all
        return (suffix + "\n").join(ordered) + suffix + "\n"
    kind = IPv4Address if family == 4 else IPv6Address
    out, start = [], 0
    for end in ends:
        if start == end:
            out.append(ordered[start] + suffix)
        else:
            out += [str(block) for block in summarize_address_range(kind(ordered[start]), kind(ordered[end]))]
        start = end + 1
    return "\n".join(out) + "\n"
