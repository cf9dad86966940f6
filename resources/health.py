"""Readiness for platform health checks: the service can reach its database. (/ping is liveness.)"""
from models import database


class Health:
    def on_get(self, req, resp):
        database.execute_sql("SELECT 1")  # unreachable: the error handlers answer 503 with Retry-After
        resp.cache_control = ["no-store"]
        resp.media = {"status": "ok", "database": "ok"}
