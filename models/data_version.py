"""A counter that every write to the served data moves forward.

Database triggers (see the first migration) bump it on any insert, update or delete of regions,
countries, cities and nodes, from any process. ETags and the per-worker response cache are keyed by it
(resources/cache.py), so both change whenever anything a response could show has changed.
"""
from peewee import BigIntegerField, IntegerField

from models.base import BaseModel


class DataVersion(BaseModel):
    id = IntegerField(primary_key=True)
    version = BigIntegerField(default=0)

    class Meta:
        table_name = "data_version"


def current_data_version() -> int:
    return DataVersion.select(DataVersion.version).where(DataVersion.id == 1).scalar() or 0
