"""Regions, countries and cities in memory: small tables, built from their list declarations.

Rows are written out with the list's own schema, and every ordering is read from the database as the SQL
path sorts it (its collation included), so both paths give the same answer by construction.
"""
from __future__ import annotations

import numpy as np
import orjson

from models.base import chunks
from readmodel.blob import BlobWriter, Vocabulary
from readmodel.index import Coordinates, Groups, Ordering
from readmodel.table import Table

# Records dumped at a time: the dump's garbage stays small and is reused, rather than spread over the heap.
DUMP_CHUNK = 2000


def build_location_table(spec, last_modified: int) -> Table:
    """The table of `spec`: its rows rendered by its schema, in key order, a chunk at a time."""
    rows = BlobWriter()
    for chunk in chunks(spec.all_records(), DUMP_CHUNK):
        for row in spec.schema.dump(chunk, many=True):
            rows.append(orjson.dumps(row))
    columns = list(spec.key.model.select(spec.key, *[f.column for f in spec.filters.values()])
                   .order_by(spec.key).tuples())
    size = len(columns)
    live = np.arange(size, dtype=np.int32)
    slot_of_key = {row[0]: slot for slot, row in enumerate(columns)}

    groups, vocabularies = {}, {}
    for position, (name, list_filter) in enumerate(spec.filters.items(), start=1):
        values = [row[position] for row in columns]
        if list_filter.text:
            vocabularies[name], values = Vocabulary.of(values)
        groups[name] = Groups.build(np.array(values, dtype=np.int64), live)

    orderings, keys = {}, {}
    for name in spec.orderings:
        keys[name] = np.empty(size, dtype=np.int32)  # the position in the database's order
        for position, key in enumerate(spec.keys_in_order(name)):
            keys[name][slot_of_key[key]] = position
        orderings[name] = Ordering.build(keys[name], live)
    coordinates = None
    if spec.near is not None:
        located = np.array(spec.key.model.select(*spec.near).order_by(spec.key).tuples(), dtype=np.float64)
        located = located.reshape(-1, 2)
        coordinates = Coordinates(located[:, 0], located[:, 1])
    table = Table(size=size, live=live, orderings=orderings, groups=groups, vocabularies=vocabularies,
                  rows=rows.blob(), last_modified=last_modified, keys=keys, coordinates=coordinates)
    assert len(table.rows) == size, "the rows and the columns disagree"  # both read in one consistent view
    return table
