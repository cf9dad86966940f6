"""Data versions on the wire (contract §12): `X-Data-Version` on every response that reads or writes data,
and `X-Min-Data-Version` on a request, the oldest data it may be answered from."""
from __future__ import annotations

import re

from models.base import MAX_NODE_ID
from resources.errors import Problem

DATA_VERSION = "X-Data-Version"
MIN_DATA_VERSION = "X-Min-Data-Version"
DECIMAL = re.compile(r"[0-9]{1,19}")


def min_data_version(req) -> int:
    """The data version the request needs at least (0: any); a malformed header is a 400."""
    header = req.get_header(MIN_DATA_VERSION)
    if header is None:
        return 0
    value = header.strip()
    if not DECIMAL.fullmatch(value) or int(value) > MAX_NODE_ID:
        raise Problem(400, f"{MIN_DATA_VERSION} must be a data version: a decimal integer from 0 to {MAX_NODE_ID}, "
                      "as an X-Data-Version header gave it.",
                      errors={MIN_DATA_VERSION: [f"Not a data version: {header[:40]!r}."]})
    return int(value)


def version_ahead(req, resp, error, params) -> None:
    """Error handler: X-Min-Data-Version names a version no data has reached, a condition on the data that does
    not hold (RFC 9110 §15.5.13)."""
    raise Problem(412, f"{MIN_DATA_VERSION} is {error.wanted}, but the newest data is at version {error.newest}: "
                  f"send a version an {DATA_VERSION} header gave.",
                  errors={MIN_DATA_VERSION: [f"No data is at version {error.wanted} yet."]},
                  headers={DATA_VERSION: str(error.newest)})
