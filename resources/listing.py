"""The list machinery, written once and declared per resource (contract §3).

A `ListSpec` says what a list selects, which filters and orderings it offers and how a row is
written out; `ListCollection` turns a request into a validated query, a page, its pagination
metadata and links, and an ETag.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qsl, urlencode

from marshmallow import Schema, ValidationError
from peewee import Field, ModelSelect

from models import fold
from resources.cache import respond
from resources.errors import bad_request, not_found
from resources.media import JSON, serialize
from schemas.query import MAX_ID, integer_values, list_query_schema, text_values


@dataclass(frozen=True)
class IntegerFilter:
    column: Field
    low: int = 1
    high: int = MAX_ID

    def field(self):
        return integer_values()

    def condition(self, values):
        # Values the column cannot hold match nothing; with none left, peewee writes IN () as 0 = 1.
        return self.column.in_(sorted({v for v in values if self.low <= v <= self.high}))


@dataclass(frozen=True)
class TextFilter:
    """Exact, case-insensitive: `normalize` maps a value to the column's stored form."""

    column: Field
    normalize: Callable[[str], str] = fold

    def field(self):
        return text_values()

    def condition(self, values):
        return self.column.in_(sorted({self.normalize(v) for v in values}))


class ListSpec:
    def __init__(self, *, select: Callable[[], ModelSelect], key: Field, filters: dict,
                 orderings: dict, default_order: str, schema: Schema):
        self.select = select  # the rows with what their representation joins in
        self.key = key  # the primary key: the final tie-break of every ordering
        self.filters = filters
        self.orderings = orderings
        self.schema = schema
        self.query_schema = list_query_schema(
            {name: spec.field() for name, spec in filters.items()}, orderings, default_order
        )
        self.parameters = tuple(self.query_schema.fields)

    def parse(self, req) -> dict:
        """The validated query string, or a 400 naming every parameter that is wrong."""
        params = req.params
        known = ", ".join(self.parameters)
        errors = {name: [f"Unknown parameter; this endpoint accepts: {known}."]
                  for name in params if name not in self.parameters}
        errors.update({name: ["Given more than once; give it once (a list is comma-separated)."]
                       for name, value in params.items() if isinstance(value, list) and name not in errors})
        if errors:
            raise bad_request(errors)
        try:
            return self.query_schema.load(params)
        except ValidationError as error:
            raise bad_request(error.messages) from None

    def where(self, query: ModelSelect, args: dict) -> ModelSelect:
        for name, spec in self.filters.items():
            if name in args:
                query = query.where(spec.condition(args[name]))
        return query

    def order(self, query: ModelSelect, args: dict) -> ModelSelect:
        columns = list(self.orderings[args["order"]])
        # Identity, not `in`: a peewee field's == builds an expression, which is always truthy.
        if not any(column is self.key for column in columns):
            columns.append(self.key)
        descending = args["direction"] == "desc"
        return query.order_by(*[column.desc() if descending else column.asc() for column in columns])

    def projection(self, args: dict, *columns: Field) -> ModelSelect:
        """Only `columns` of the matching rows, in order, joining only what the ordering needs."""
        model = self.key.model
        query = model.select(*columns)
        needed = {column.model for column in self.orderings[args["order"]]} - {model}
        for joined in sorted(needed, key=lambda m: m.__name__):
            query = query.join_from(model, joined)
        return self.order(self.where(query, args), args)

    def page(self, args: dict) -> tuple[list, int]:
        # Filters are on the listed table's own columns, so the count needs no join.
        total = self.where(self.key.model.select(), args).count()
        # Deferred join: the offset is walked over keys alone (joining only what the ordering needs),
        # then the page's rows are fetched whole by key, so a deep page does not join every row it skips.
        keys = self.projection(args, self.key).paginate(args["page"], args["perPage"])
        rows = list(self.order(self.select().where(self.key.in_(keys)), args))
        return rows, total


def pagination(req, args: dict, total: int, count: int) -> dict:
    page, per_page = args["page"], args["perPage"]
    total_pages = -(-total // per_page)
    # Past the end, "previous" leads back to the last page that has rows.
    previous = min(page - 1, total_pages) if page > 1 else 0
    following = page + 1 if page < total_pages else 0
    return {
        "total": total,
        "count": count,
        "perPage": per_page,
        "currentPage": page,
        "totalPages": total_pages,
        "links": {"previous": page_link(req, previous), "next": page_link(req, following)},
    }


def page_link(req, page: int) -> str | None:
    """A relative URL to another page that keeps every other query parameter."""
    if page < 1:
        return None
    pairs = [(k, v) for k, v in parse_qsl(req.query_string, keep_blank_values=True) if k != "page"]
    pairs.append(("page", str(page)))
    return f"{req.path}?{urlencode(pairs)}"


class ListCollection:
    """GET on a list: a page of `spec` as JSON, with pagination metadata and an ETag."""

    spec: ListSpec

    def on_get(self, req, resp):
        def render(args):
            rows, total = self.spec.page(args)
            return JSON, serialize(resp, JSON, {
                "data": self.spec.schema.dump(rows, many=True),
                "meta": {"pagination": pagination(req, args, total, len(rows))},
            })

        respond(req, resp, JSON, lambda: self.spec.parse(req), render)


class ItemResource:
    """GET on one record of `spec`, by its key in the path; `noun` names it in a 404."""

    spec: ListSpec
    noun: str

    def key(self, value):
        return value

    def on_get(self, req, resp, **params):
        (value,) = params.values()

        def render(key):
            row = self.spec.select().where(self.spec.key == key).get_or_none()
            if row is None:
                raise not_found(f"No {self.noun} {value!r}." if isinstance(value, str) else f"No {self.noun} {value}.")
            return JSON, serialize(resp, JSON, {"data": self.spec.schema.dump(row)})

        respond(req, resp, JSON, lambda: self.key(value), render)
