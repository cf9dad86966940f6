"""The client's address, believing X-Forwarded-For only as far as the trusted proxies."""
import ipaddress

import falcon


def client_address(req: falcon.Request, trusted_hops: int) -> str:
    peer = req.remote_addr or ""
    if trusted_hops <= 0:
        return peer
    forwarded = [part.strip() for part in (req.get_header("X-Forwarded-For") or "").split(",") if part.strip()]
    chain = forwarded + [peer]
    # Each trusted proxy appended the address it received from; read that many from the right.
    candidate = chain[max(len(chain) - 1 - trusted_hops, 0)]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
