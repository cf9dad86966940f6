"""Authentication hooks for protected resources (contract §5, §10).

`@falcon.before(require_token)` on a resource class requires a valid bearer token, checked with the
resource's `tokens` (a TokenService passed in when the resource is made); the token's claims land in
`req.context.user`. `require_permission("nodes:write")` also demands a permission in the token (403 when
it lacks it; the role alone grants nothing).
"""
import peewee

from resources.errors import Problem
from security.tokens import InvalidToken

REALM = "PerfOps"


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


def authenticate(req, tokens, at_once: bool = False) -> dict:
    """The claims of the request's bearer token, or a 401 (also for a revoked one: at once for a write)."""
    token = bearer_token(req)
    if token is None:
        raise unauthorized("A bearer token is required: POST /auth to get one.", error=None)
    try:
        claims = tokens.verify(token, at_once)
    except InvalidToken as reason:
        raise unauthorized(str(reason)) from None
    req.context.user_id = claims["sub"]  # for the access log
    req.context.api_key = claims.get("key_name")
    return claims


def optional_user(req, tokens) -> dict | None:
    """The claims of a valid bearer token, or None: for public resources that say more to a user."""
    if bearer_token(req) is None:
        return None
    try:
        return authenticate(req, tokens)
    except (Problem, peewee.DatabaseError, peewee.InterfaceError):
        return None  # a public resource answers anonymously, also while the database is away


def require_token(req, resp, resource, params):
    req.context.user = authenticate(req, resource.tokens)


def require_permission(permission: str):
    """A hook admitting a valid token whose `permissions` hold `permission`."""

    def hook(req, resp, resource, params):
        user = authenticate(req, resource.tokens, at_once=True)
        if permission not in user["permissions"]:
            raise Problem(403, f"This needs the permission {permission!r} in the token's permissions.")
        req.context.user = user

    return hook
