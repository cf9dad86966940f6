"""Time-based one-time passwords (RFC 6238): 6 digits, 30-second steps, one step of clock drift."""
import hmac
from datetime import datetime

import pyotp

ISSUER = "PerfOps"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code` (the current one, or one step either side), else None.

    The caller must still claim the step for the user, so that a code works only once.
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
