"""What tests share about their data: the real cities test nodes are in, the password and JWT secret, making a
user, and a throwaway PostgreSQL database. Fixtures live in conftest.py; test modules import these from here."""
import functools
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from models import User
from security.passwords import hash_password

# Real GeoNames cities used by the test nodes.
LONDON, MANCHESTER, PARIS, BERLIN = 2643743, 2643123, 2988507, 2950159
NEW_YORK, LOS_ANGELES, TOKYO, SYDNEY = 5128581, 5368361, 1850147, 2147714
JWT_SECRET = "test-secret-long-enough-for-every-hmac-algorithm-0123456789abcdef"
PASSWORD = "correct horse battery staple"
# How long a worker may rely on what it learnt about an account or API key, in the revocation tests.
FRESHNESS = 60.0


def throwaway_postgres(base_url: str):
    """A new database on the server TEST_DATABASE_URL names; yields its URL, drops it after."""
    name = f"perfops_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(base_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once for the whole run


def make_user(username="bob@example.com", *, role="trial", permissions=(), otp_secret=None, active=True):
    user = User(username=username, username_key=username.casefold(), name=f"{username} Example",
                email=username if "@" in username else f"{username}@example.com", role=role,
                password_hash=password_hash(), totp_secret=otp_secret, active=active)
    user.permissions = permissions
    user.save()
    return user
