"""Authentication hooks for protected resources (contract §5).

Apply `@falcon.before(require_token)` to a resource class to require a valid bearer token; the
token's claims land in `req.context.user`. `require(role=..., permission=...)` also demands a role
or a permission (403 when the token lacks it).
"""
import peewee

from resources.errors import Problem
from security.tokens import InvalidToken

REALM = "PerfOps"


class Authentication:
    """Middleware that hands the app's TokenService to the hooks and resources of each request."""

    def __init__(self, tokens):
        self.tokens = tokens

    def process_request(self, req, resp):
        req.context.tokens = self.tokens
        req.context.user = None


def bearer_token(req) -> str | None:
    scheme, _, token = (req.get_header("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized(detail: str, error: str | None = "invalid_token") -> Problem:
    # RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def authenticate(req) -> dict:
    """The claims of the request's bearer token, or a 401."""
    token = bearer_token(req)
    if token is None:
        raise unauthorized("A bearer token is required: POST /auth to get one.", error=None)
    try:
        claims = req.context.tokens.verify(token)
    except InvalidToken as reason:
        raise unauthorized(str(reason)) from None
    req.context.user_id = claims["sub"]  # for the access log
    return claims


def optional_user(req) -> dict | None:
    """The claims of a valid bearer token, or None: for public resources that say more to a user."""
    if bearer_token(req) is None:
        return None
    try:
        return authenticate(req)
    except (Problem, peewee.DatabaseError, peewee.InterfaceError):
        return None  # a public resource answers anonymously, also while the database is away


def require_token(req, resp, resource, params):
    req.context.user = authenticate(req)


def require(role: str | None = None, permission: str | None = None):
    """A hook admitting a valid token that has `role` and/or `permission`."""

    def hook(req, resp, resource, params):
        user = authenticate(req)
        if role is not None and user["role"] != role:
            raise Problem(403, f"This needs the role {role!r}.")
        if permission is not None and permission not in user["permissions"]:
            raise Problem(403, f"This needs the permission {permission!r}.")
        req.context.user = user

    return hook
