"""Password hashing: argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane)."""
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
MIN_LENGTH = 8
MAX_LENGTH = 1024  # bounds the work one login can ask for


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)


@functools.cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def verify_against_dummy(password: str) -> None:
    """Spend what a real check costs, so an unknown username answers as slowly as a wrong password."""
    verify_password(_dummy_hash(), password)


def password_problem(password: str) -> str | None:
    """Why `password` cannot be set, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    return None
