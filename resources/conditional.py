"""ETags for lists, and 304 for a matching If-None-Match.

A tag names the data version (moved by database triggers on every write, from any process),
the whole request target and the representation, so it changes whenever the body could.
Reading the version before the rows makes a race harmless: at worst a fresh body carries an
older tag, which the next request replaces.
"""
import hashlib

import falcon

from models import current_data_version


def not_modified(req: falcon.Request, resp: falcon.Response, representation: str) -> bool:
    target = f"{req.path}?{req.query_string}|{representation}"
    digest = hashlib.blake2b(target.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    tag = f"{current_data_version()}-{digest}"
    resp.etag = tag
    # Caches may keep a list but must revalidate it (the tag makes that cheap); a shared cache
    # must not keep what a token was needed for.
    resp.cache_control = ["private", "no-cache"] if getattr(req.context, "user", None) else ["no-cache"]
    candidates = req.if_none_match or ()
    if any(candidate == "*" or str(candidate) == tag for candidate in candidates):
        resp.status = falcon.HTTP_NOT_MODIFIED
        return True
    return False
