from datetime import timezone

from resources.client import client_address
from resources.hooks import optional_user
from schemas.auth import ping_user_schema


class Ping:
    """Basic information about the API and the caller; never touches the database.

    With a valid bearer token it also names the user, from the token's claims.
    """

    def __init__(self, config, clock):
        self.config = config
        self.clock = clock

    def on_get(self, req, resp):
        now = self.clock().astimezone(timezone.utc).replace(microsecond=0)
        resp.cache_control = ["no-store"]
        body = {
            "timestamp": now.isoformat(),
            "version": self.config.version,
            "ip": client_address(req, self.config.trusted_proxy_hops),
        }
        user = optional_user(req)
        if user is not None:
            body["user"] = ping_user_schema.dump(user)
        resp.media = body
