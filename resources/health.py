"""Readiness for platform health checks (/ping is liveness): the database answers and holds the reference
data, without which every region, country and city list would be empty (contract §8)."""
import falcon

from models import database
from resources.errors import Problem
from resources.media import negotiate

REFERENCE_TABLES = ("region", "country", "city")
READINESS_SQL = "SELECT " + ", ".join(f"EXISTS (SELECT 1 FROM {table})" for table in REFERENCE_TABLES)


@falcon.before(negotiate)
class Health:
    def __init__(self, retry_after: int):
        self.retry_after = retry_after

    def on_get(self, req, resp):
        resp.cache_control = ["no-store"]
        # Unreachable: the error handlers answer 503 with Retry-After.
        present = database.execute_sql(READINESS_SQL).fetchone()
        missing = [table for table, found in zip(REFERENCE_TABLES, present) if not found]
        if missing:
            raise Problem(503, f"Reference data is missing ({', '.join(missing)}): run `python manage.py seed` "
                               "(the Procfile's release phase does).",
                          headers={"Retry-After": str(self.retry_after)})
        resp.media = {"status": "ok", "database": "ok", "referenceData": "ok"}

    on_head = on_get
