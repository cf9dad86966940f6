"""What several test modules share: running manage.py, writing CSV files, logging in, checking problems,
brute-force distances and expanded CIDR blocks."""
import base64
import ipaddress
import json
import math
import os
import subprocess

import jwt
import pyotp
from hypothesis import settings

from models import DataVersion
from tests.data import JWT_SECRET
from tests.live_server import run_manage

PROBLEM = "application/problem+json"
OTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def manage(config, *args, stdin=None) -> subprocess.CompletedProcess:
    """manage.py as an operator runs it, against the run's database; what it did, success or not."""
    return run_manage({**os.environ, "DATABASE_URL": config.database_url}, *args, stdin=stdin)


def write_csv(tmp_path, text, name="nodes.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_problem(result, status):
    """An RFC 9457 problem with this status; returns its body."""
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == PROBLEM
    body = result.json
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"] and not body["title"].startswith(str(status))
    return body


def login(client, **body):
    return client.simulate_post("/auth", json=body)


def claims_of(token):
    return jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})


def refresh(client, token):
    return client.simulate_post("/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def b64(data: dict) -> str:
    """base64url without padding, as JWT segments are written."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle kilometres, written out independently of models/distance.py, to check it."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a)))


def expand_blocks(blocks):
    """Every address of CIDR blocks, as text."""
    return [str(address) for block in blocks for address in ipaddress.ip_network(block)]


def otp_at(secret: str, moment) -> str:
    """The one-time password of `secret` at `moment`, from pyotp itself (the reference the service must match)."""
    return pyotp.TOTP(secret).at(moment)


def data_version() -> int:
    """The database's data version, as the triggers keep it."""
    return DataVersion.select(DataVersion.version).where(DataVersion.id == 1).scalar() or 0


def memory_text(table, query) -> bytes:
    """The text list the read model answers `query` with, as plain bytes (a kept one comes with its tag, a
    whole CIDR list is a file's range)."""
    from readmodel.list_files import FileBody
    from readmodel.tagged import Tagged
    from resources.representations import text_from_memory
    body = text_from_memory(table, query)[0]
    body = body.body if isinstance(body, Tagged) else body
    return body.read_all() if isinstance(body, FileBody) else body


def examples(thorough: int) -> int:
    """How many examples a property gets: `thorough` under the `ci` Hypothesis profile (.ci/run sets
    HYPOTHESIS_PROFILE=ci), a fifth of them (at least 10) under `dev`, the default, so that `make test` on a
    laptop stays quick (conftest.py registers both)."""
    return max(10, thorough * settings.default.max_examples // 100)

