import json
from itertools import islice

from peewee import Model, TextField

from models.database import database

# The largest value of an INTEGER column (city and user ids on SQLite and PostgreSQL alike).
MAX_ID = 2**31 - 1
# Node ids are 64-bit (migration 005).
MAX_NODE_ID = 2**63 - 1
# Rows per statement: well under SQLite's bound-parameter limit (32,766) with every column bound.
STATEMENT_ROWS = 500


def chunks(items, size: int = STATEMENT_ROWS):
    """Lists of `size` items from any iterable (the last may be shorter): the one batching loop."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class WithPermissions(Model):
    """A `permissions` list kept as sorted, distinct JSON in `permissions_json` (accounts and API keys)."""
    permissions_json = TextField(default="[]")

    @property
    def permissions(self) -> list[str]:
        return json.loads(self.permissions_json)

    @permissions.setter
    def permissions(self, values) -> None:
        self.permissions_json = json.dumps(sorted(set(values)))
