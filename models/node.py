"""Measurement nodes. Country and region are copied from the node's city on every write,

so that every filter is a lookup on one indexed column of this table.
"""
from datetime import datetime, timezone

from peewee import BigAutoField, BigIntegerField, CharField, DateTimeField, ForeignKeyField

from models.base import BaseModel
from models.location import City, Country, Region


# ASNs are 32-bit (RFC 6793).
MAX_ASN = 2**32 - 1


def naive_utc_now() -> datetime:
    # Stored naive, in UTC, whole seconds: the same on SQLite and PostgreSQL.
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


class Node(BaseModel):
    id = BigAutoField()  # 64-bit, never reused (migration 005)
    ip = CharField(max_length=45, unique=True)  # canonical text form
    asn = BigIntegerField(null=True)
    network = CharField(max_length=255, null=True)
    city = ForeignKeyField(City, backref="nodes", index=False)
    country = ForeignKeyField(Country, backref="nodes", index=False)
    region = ForeignKeyField(Region, backref="nodes", index=False)
    created_at = DateTimeField(default=naive_utc_now)
    updated_at = DateTimeField(default=naive_utc_now)

    class Meta:
        # Each filter column with the key, so a filtered page reads in key order.
        indexes = (
            (("city", "id"), False),
            (("country", "id"), False),
            (("region", "id"), False),
            (("asn", "id"), False),
        )
