from datetime import timezone

from resources.client import client_address


class Ping:
    """Basic information about the API and the caller; never touches the database."""

    def __init__(self, config, clock):
        self.config = config
        self.clock = clock

    def on_get(self, req, resp):
        now = self.clock().astimezone(timezone.utc).replace(microsecond=0)
        resp.cache_control = ["no-store"]
        resp.media = {
            "timestamp": now.isoformat(),
            "version": self.config.version,
            "ip": client_address(req, self.config.trusted_proxy_hops),
        }
