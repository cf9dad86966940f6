"""Reading a large result in batches of tuples, never a model object per row."""
from typing import Iterator

from peewee import ModelSelect

from models.database import database, is_postgres


def fetch_batches(query: ModelSelect, size: int = 5000) -> Iterator[list[tuple]]:
    """Rows of `query` as tuples, `size` at a time.

    On PostgreSQL a server-side cursor keeps the client from receiving the whole result at once;
    SQLite steps through its result lazily by itself.
    """
    cursor = database.execute(query, named_cursor=True) if is_postgres() else database.execute(query)
    try:
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()
