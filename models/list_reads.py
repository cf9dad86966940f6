"""A list read from the database (contract §3, §11): what the read model (readmodel/) answers from memory,
answered by SQL while it builds, and what it is tested against. `SqlReads` is part of every `ListSpec` and
reads its declaration: `rows`, `key`, `filters`, `orderings`, `render`, `updated`, `text`, `near`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from peewee import Field, ModelSelect, fn

from models.database import database
from models.distance import with_distances, within
from schemas.cidr import cidr_text
from schemas.nodes import timestamp_seconds

if TYPE_CHECKING:
    from resources.list_query import ListQuery

# Rows fetched at a time for a text list answered from the database.
TEXT_BATCH = 10_000


class SqlReads:
    def where(self, query: ModelSelect, filters: dict) -> ModelSelect:
        for name, values in filters.items():
            condition = self.filters[name].condition(values)
            if condition is not None:
                query = query.where(condition)
        return query

    def order(self, query: ModelSelect, order: str, descending: bool) -> ModelSelect:
        columns = list(self.orderings.get(order, ()))  # by distance: ordered in Python, by key here
        # Identity, not `in`: a peewee field's == builds an expression, which is always truthy.
        if not any(column is self.key for column in columns):
            columns.append(self.key)
        return query.order_by(*[column.desc() if descending else column.asc() for column in columns])

    def projection(self, filters: dict, order: str, descending: bool, *columns: Field) -> ModelSelect:
        """Only `columns` of the matching rows, in order, joining only what the ordering needs."""
        model = self.key.model
        query = model.select(*columns)
        needed = {column.model for column in (*self.orderings.get(order, ()), *columns)} - {model}
        for joined in sorted(needed, key=lambda m: m.__name__):
            query = query.join_from(model, joined)
        return self.order(self.where(query, filters), order, descending)

    def all_records(self):
        """Every row in key order, as the schema dumps them (an iterable)."""
        return self._records() if self._records else self.rows().order_by(self.key).iterator()

    def keys_in_order(self, order: str) -> list:
        """Every key, ascending in `order` as the database sorts it."""
        return [key for (key,) in self.projection({}, order, False, self.key).tuples()]

    def sql_page(self, query: ListQuery, near_matches: list | None = None) -> tuple[list, int, np.ndarray | None]:
        """The keys of the query's page, in order, the total, and with `near` each key's distance in metres.
        `near_matches`: what `sql_near(query)` gave, when the caller has it already (so too below)."""
        if query.near is not None:
            matches = self._near_matches(query, near_matches)
            page = matches[query.offset:query.offset + query.per_page]
            return [row[0] for row in page], len(matches), np.array([row[3] for row in page], dtype=np.int64)
        filters = query.filter_values
        # Filters are on the listed table's own columns, so the count needs no join.
        total = self.where(self.key.model.select(), filters).count()
        # The offset is walked over keys alone (joining only what the ordering needs).
        keys = self.projection(filters, query.order, query.descending, self.key).paginate(query.page, query.per_page)
        return [key for (key,) in keys.tuples()], total, None

    def sql_near(self, query: ListQuery) -> list:
        """(key, text, updated, metres) of every match within `query.near`, in the query's order: the rows in
        the radius's band of latitudes from the database, the distance worked out here as the read model does."""
        near = query.near
        latitude, longitude = self.near
        low, high = near.latitude_band()
        rows = list(self.projection(query.filter_values, query.order, query.descending, self.key,
                                    self.text or self.key, self.updated or self.key, latitude, longitude)
                    .where(latitude.between(low, high)).tuples())
        if not rows:
            return []
        located = np.array([row[3:] for row in rows], dtype=np.float64)
        found, metres = within(near, located[:, 0], located[:, 1])
        matches = [(*rows[index][:3], distance) for index, distance in zip(found.tolist(), metres.tolist())]
        if query.order == "distance":  # nearest first, then the key (contract §11)
            matches.sort(key=lambda row: (row[3], row[0]), reverse=query.descending)
        return matches

    def _near_matches(self, query: ListQuery, given: list | None) -> list:
        return given if given is not None else self.sql_near(query)

    def sql_rows(self, keys: list, metres=None) -> list[bytes]:
        """The rendered rows of those `keys` that exist, in that order (with their distances, if given)."""
        records = {getattr(record, self.key.name): record for record in self.rows().where(self.key.in_(keys))}
        if metres is not None:
            metres = np.array([distance for key, distance in zip(keys, metres.tolist()) if key in records])
        return with_distances([self.render(records[key]) for key in keys if key in records], metres)

    def sql_lines(self, query: ListQuery, near_matches: list | None = None) -> bytes:
        """The `text` column of every match, in order, one a line (as CIDR blocks with `aggregate`)."""
        if query.near is not None:
            lines = "".join([f"{row[1]}\n" for row in self._near_matches(query, near_matches)]).encode()
        else:
            # Batch by batch from the cursor: a million rows held as tuples, then as strings, cost a worker
            # about 200 MB at once (and its memory stayed that large after).
            sql, params = self.projection(query.filter_values, query.order, query.descending, self.text).sql()
            cursor = database.execute_sql(sql, params)
            chunks = []
            while batch := cursor.fetchmany(TEXT_BATCH):
                chunks.append(("\n".join([value for (value,) in batch]) + "\n").encode())
            lines = b"".join(chunks)
        return cidr_text(lines) if query.aggregate else lines

    def sql_modified(self, query: ListQuery, versions, near_matches: list | None = None) -> int:
        """When the list last changed (seconds): its newest row, the last removal, the reference data."""
        if self.updated is None:
            return versions.reference_changed_at
        if query.near is not None:
            newest = max((row[2] for row in self._near_matches(query, near_matches)), default=None)
        else:
            newest = self.where(self.key.model.select(fn.MAX(self.updated)), query.filter_values).scalar()
        return max(versions.reference_changed_at, versions.nodes_removed_at, _seconds(newest))

    def sql_record_modified(self, key, versions) -> int:
        if self.updated is None:
            return versions.reference_changed_at
        updated = self.key.model.select(self.updated).where(self.key == key).scalar()
        return max(versions.reference_changed_at, _seconds(updated))


def _seconds(value) -> int:
    return 0 if value is None else timestamp_seconds(value)
