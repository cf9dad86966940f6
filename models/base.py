from peewee import Model

from models.database import database

# The largest value of an INTEGER column (ids on SQLite and PostgreSQL alike).
MAX_ID = 2**31 - 1


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
