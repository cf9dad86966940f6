"""GET /metrics: Prometheus's text format, for a scraper holding METRICS_TOKEN (contract §14).

Only routed when the token is set (otherwise 404, like any unknown path). The token is compared in constant
time; a scrape without it is a 401 like any other missing credentials.
"""
import hmac

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from observability.metrics import exposition
from resources.errors import Problem


class MetricsText:
    def __init__(self, token: str):
        self._expected = f"Bearer {token}".encode()

    def on_get(self, req, resp):
        given = (req.get_header("Authorization") or "").encode()
        if not hmac.compare_digest(given, self._expected):
            raise Problem(401, "GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.",
                          headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        resp.cache_control = ["no-store"]
        resp.content_type = CONTENT_TYPE_PLAIN_0_0_4  # what Prometheus 2 and 3 both read
        resp.data = exposition()

    on_head = on_get
