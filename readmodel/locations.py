"""Regions, countries and cities in memory: small tables, built from their list declarations.

Rows are written out with the list's own schema, and every ordering is read from the database as the SQL
path sorts it (its collation included), so both paths give the same answer by construction.
"""
from __future__ import annotations

import numpy as np

from readmodel.index import Groups, Ordering
from readmodel.table import Table
from schemas.json import json_bytes


def build_location_table(spec, last_modified: int, records: list | None = None) -> Table:
    """The table of `spec`; `records` (every row in key order, as the spec's schema dumps them) when already read."""
    records = spec.all_records() if records is None else records
    size = len(records)
    live = np.arange(size, dtype=np.int32)
    rows = [json_bytes(row) for row in spec.schema.dump(records, many=True)]
    columns = list(spec.key.model.select(spec.key, *[f.column for f in spec.filters.values()])
                   .order_by(spec.key).tuples())
    assert len(columns) == size, "the records and the table disagree"  # one consistent view is being read
    slot_of_key = {row[0]: slot for slot, row in enumerate(columns)}

    groups, vocabularies = {}, {}
    for position, (name, list_filter) in enumerate(spec.filters.items(), start=1):
        values = [row[position] for row in columns]
        if list_filter.text:
            vocabulary = {value: code for code, value in enumerate(sorted(set(values)))}
            values = [vocabulary[value] for value in values]
            vocabularies[name] = vocabulary
        groups[name] = Groups.build(np.array(values, dtype=np.int64), live)

    orderings = {}
    for name in spec.orderings:
        keys = np.empty(size, dtype=np.int64)
        for position, key in enumerate(spec.keys_in_order(name)):
            keys[slot_of_key[key]] = position
        orderings[name] = Ordering.build(keys, live)
    return Table(size=size, live=live, orderings=orderings, groups=groups, vocabularies=vocabularies,
                 rows=rows, last_modified=last_modified)
