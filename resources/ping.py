"""GET /ping (contract §6): basic information about the API and the caller; never touches the database."""
from datetime import timezone

import falcon

from resources.client import client_address
from resources.hooks import optional_user
from resources.media import negotiate
from schemas.auth import ping_user_schema


@falcon.before(negotiate)
class Ping:
    """With a valid bearer token the answer also names the user, from the token's claims."""

    def __init__(self, config, clock, tokens):
        self.config = config
        self.clock = clock
        self.tokens = tokens

    def on_get(self, req, resp):
        now = self.clock().astimezone(timezone.utc).replace(microsecond=0)
        resp.cache_control = ["no-store"]
        body = {
            "timestamp": now.isoformat(),
            "version": self.config.version,
            "ip": client_address(req, self.config.trusted_proxy_hops),
        }
        user = optional_user(req, self.tokens)
        if user is not None:
            body["user"] = ping_user_schema.dump(user)
        resp.media = body

    on_head = on_get
