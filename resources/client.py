"""The client's address, believing X-Forwarded-For only as far as the trusted proxies."""
import ipaddress

import falcon


def client_address(req: falcon.Request, trusted_hops: int) -> str:
    if trusted_hops <= 0:
        return req.remote_addr or ""
    return address_of(req.remote_addr or "", req.get_header("X-Forwarded-For"), trusted_hops)


def address_of(peer: str, forwarded_for: str | None, trusted_hops: int) -> str:
    """The client's address from the peer's and an X-Forwarded-For header (a WSGI environ's, or a request's)."""
    if trusted_hops <= 0:
        return peer
    forwarded = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    chain = forwarded + [peer]
    # Each trusted proxy appended the address it received from; read that many from the right.
    candidate = chain[max(len(chain) - 1 - trusted_hops, 0)]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
