"""The list machinery, written once and declared per resource (contract §3).

A `ListSpec` declares a list: what it selects, its key, its filters and orderings, and the schema its rows
are written with. It parses query strings (`QueryParsing`, resources/list_query.py) and answers them from the
database (`SqlReads`, models/list_reads.py) while the read model (readmodel/) builds, which answers them from
memory. `ListCollection` and `ItemResource` are the resources a list's module declares.
"""
from __future__ import annotations

from typing import Callable

from marshmallow import Schema, fields, validate
from peewee import Field, ModelSelect

from models.list_reads import SqlReads
from resources.consistency import DATA_VERSION
from resources.errors import not_found
from resources.list_query import QueryParsing, refuse_parameters
from resources.media import JSON_ONLY
from schemas.json import json_bytes
from schemas.query import list_query_schema, near_fields


class ListSpec(QueryParsing, SqlReads):
    """One list, declared: parsed by QueryParsing, read from the database by SqlReads."""

    def __init__(self, *, name: str, rows: Callable[[], ModelSelect], key: Field, filters: dict,
                 orderings: dict, default_order: str, schema: Schema, item_filter: str,
                 render: Callable | None = None, updated: Field | None = None, text: Field | None = None,
                 records: Callable | None = None, near: tuple[Field, Field] | None = None,
                 aggregates: tuple = ()):
        self.name = name
        self.rows = rows  # the query of the rows, with what their representation joins in
        self.key = key  # the primary key: the final tie-break of every ordering
        self.filters = filters
        self.orderings = orderings
        self.schema = schema
        self.item_filter = item_filter  # the filter on the key, which finds one record
        # One row as JSON; by default the schema's dump.
        self.render = render or (lambda record: json_bytes(schema.dump(record)))
        # The column that dates a row (None: rows change only with the reference data).
        self.updated = updated
        # The column the text list shows, one a line (None: no text list).
        self.text = text
        # Every row in key order, for the schema to dump (plain dicts are cheaper to build than joined models).
        self._records = records
        # (latitude, longitude) columns, where the list can be searched by distance; `order=distance` then.
        self.near = near
        extra = dict(near_fields()) if near else {}
        if aggregates:
            extra["aggregate"] = fields.String(validate=validate.OneOf(aggregates))
        QueryParsing.__init__(self, list_query_schema(
            {name: spec.field() for name, spec in filters.items()},
            [*orderings, "distance"] if near else orderings, default_order, extra,
        ))


class ListCollection:
    """GET (and HEAD) on a list: a page of `spec` as JSON, with pagination metadata and validators.

    A concrete list declares `spec` and its hooks: `@falcon.before(require_token)` where a token is needed,
    then `@falcon.before(negotiate)` (in that order, so a 401 comes before a 406)."""

    media_types = JSON_ONLY

    spec: ListSpec

    def __init__(self, representations, tokens=None):
        self.representations = representations
        self.tokens = tokens  # for the authentication hook of protected resources

    def on_get(self, req, resp):
        query = self.spec.parse(req)
        answer = self.representations.page(self.spec, query, req.path, req)
        self.representations.send(req, resp, answer, private=req.context.user is not None)

    on_head = on_get


class ItemResource:
    """GET (and HEAD) on one record of `spec`, by its key in the path; `noun` names it in a 404."""

    media_types = JSON_ONLY
    noun: str

    spec: ListSpec

    def __init__(self, representations, tokens=None):
        self.representations = representations
        self.tokens = tokens  # for the authentication hook of protected resources

    def key(self, value):
        return value

    def on_get(self, req, resp, **params):
        (value,) = params.values()
        refuse_parameters(req)
        answer = self.representations.record(self.spec, self.key(value), req)
        if answer.representation is None:
            raise not_found(f"No {self.noun} {value!r}." if isinstance(value, str) else f"No {self.noun} {value}.",
                            headers={DATA_VERSION: str(answer.data_version)})
        self.representations.send(req, resp, answer, private=req.context.user is not None)

    on_head = on_get
