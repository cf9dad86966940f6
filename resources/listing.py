"""The list machinery, written once and declared per resource (contract §3).

A `ListSpec` declares a list: what it selects, its key, its filters and orderings, and the schema its rows
are written with. `parse` turns a query string into a `ListQuery` (400s name every wrong parameter). The
read model (readmodel/) answers queries from memory; the `sql_*` methods answer them from the database,
while the read model builds, and are what it is tested against.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
from marshmallow import Schema, ValidationError, fields, validate
from peewee import Field, ModelSelect, fn

from models import database, fold
from models.distance import Near, with_distances, within
from resources.consistency import DATA_VERSION
from resources.errors import bad_request, not_found
from resources.media import JSON_ONLY
from schemas.cidr import cidr_text
from schemas.json import json_bytes
from schemas.nodes import timestamp_seconds
from models.base import MAX_ID
from schemas.query import chosen_values, integer_values, list_query_schema, near_fields, text_values


@dataclass(frozen=True)
class IntegerFilter:
    column: Field
    low: int = 1
    high: int = MAX_ID
    text = False

    def field(self):
        return integer_values()

    def normalise(self, values) -> tuple:
        # Values the column cannot hold match nothing.
        return tuple(sorted({value for value in values if self.low <= value <= self.high}))

    def condition(self, values):
        return self.column.in_(list(values))


@dataclass(frozen=True)
class TextFilter:
    """Exact, case-insensitive: `stored_form` maps a value to the column's stored form."""

    column: Field
    stored_form: Callable[[str], str] = fold
    text = True

    def field(self):
        return text_values()

    def normalise(self, values) -> tuple:
        return tuple(sorted({self.stored_form(value) for value in values}))

    def condition(self, values):
        return self.column.in_(list(values))


@dataclass(frozen=True)
class FamilyFilter:
    """The address family (4 or 6) of the addresses in a text column (contract §11)."""

    column: Field
    text = False

    def field(self):
        return chosen_values([4, 6])

    def normalise(self, values) -> tuple:
        return tuple(sorted(set(values)))

    def condition(self, values):
        if len(values) == 2:
            return None  # both families: every row
        holds_colon = self.column.contains(":")
        return holds_colon if values == (6,) else ~holds_colon


# Parameter values remembered as loaded, per list, and the longest worth it (a page number, an ordering, a
# few countries; a point with its radius churns the entries and gains little).
LOADED_VALUES = 4096
# Rows fetched at a time for a text list answered from the database.
TEXT_BATCH = 10_000
LONGEST_LOADED_VALUE = 64


@dataclass(frozen=True)
class ListQuery:
    """A validated list query. `filters` hold normalised values; `given` is every parameter as sent, in the
    order the list declares them: what links repeat, and what a cached response is keyed by."""

    filters: tuple  # ((name, (value, ...)), ...)
    order: str
    descending: bool
    page: int
    per_page: int
    given: tuple  # ((name, raw text), ...)
    near: Near | None = None
    aggregate: str | None = None  # "cidr": the text list as CIDR blocks

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def filter_values(self) -> dict:
        return dict(self.filters)

    @cached_property  # a parsed query is kept and reused (ParseMemo)
    def text_key(self) -> tuple:
        """`given` without what the unpaginated text list ignores."""
        return tuple(pair for pair in self.given if pair[0] not in ("page", "perPage"))


class ParseMemo:
    """What parsing gave, by the text parsed: whole query strings, so that a repeated request (a poll, a
    popular page) skips validation, which costs more than the rest of answering it from the cache; or single
    parameters, as `name=value`. Bounded in count and in length."""

    ENTRIES = 1024
    LONGEST = 512  # characters of query string worth remembering

    def __init__(self, entries: int = ENTRIES, longest: int = LONGEST):
        self.entries, self.longest = entries, longest
        self._entries: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, raw: str):
        return self._entries.get(raw)

    def put(self, raw: str, parsed) -> None:
        if len(raw) > self.longest:
            return
        with self._lock:
            self._entries[raw] = parsed
            if len(self._entries) > self.entries:
                self._entries.popitem(last=False)


class ListSpec:
    def __init__(self, *, name: str, select: Callable[[], ModelSelect], key: Field, filters: dict,
                 orderings: dict, default_order: str, schema: Schema, item_filter: str,
                 render: Callable | None = None, updated: Field | None = None, text: Field | None = None,
                 records: Callable | None = None, near: tuple[Field, Field] | None = None,
                 aggregates: tuple = ()):
        self.name = name
        self.select = select  # the rows with what their representation joins in
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
        self.query_schema = list_query_schema(
            {name: spec.field() for name, spec in filters.items()},
            [*orderings, "distance"] if near else orderings, default_order, extra,
        )
        self.parameters = tuple(self.query_schema.fields)
        self._parsed = ParseMemo()
        # Varied traffic (any page, order, country) rarely repeats a query string but keeps repeating each
        # parameter: a value loaded once is reused (see load_params).
        self._loaded = ParseMemo(entries=LOADED_VALUES, longest=LONGEST_LOADED_VALUE)
        self._defaults = self.query_schema.load({})

    def parse(self, req) -> ListQuery:
        """The validated query string, or a 400 naming every parameter that is wrong."""
        raw = req.query_string
        query = self._parsed.get(raw)
        if query is None:
            query = self._parse(req)
            self._parsed.put(raw, query)
        return query

    def _parse(self, req) -> ListQuery:
        params = req.params
        known = ", ".join(self.parameters)
        errors = {name: [f"Unknown parameter; this endpoint accepts: {known}."]
                  for name in params if name not in self.parameters}
        errors.update({name: ["Given more than once; give it once (a list is comma-separated)."]
                       for name, value in params.items() if isinstance(value, list) and name not in errors})
        if errors:
            raise bad_request(errors)
        try:
            args = self.load_params(params)
        except ValidationError as error:
            raise bad_request(error.messages) from None
        errors = combination_errors(args, params)
        if errors:
            raise bad_request(errors)
        return ListQuery(
            filters=tuple((name, spec.normalise(args[name])) for name, spec in self.filters.items() if name in args),
            order=args["order"], descending=args["direction"] == "desc", page=args["page"],
            per_page=args["perPage"], given=tuple((name, params[name]) for name in self.parameters if name in params),
            near=Near(*args["near"], args["radius"]) if "near" in args else None, aggregate=args.get("aggregate"),
        )

    def load_params(self, params) -> dict:
        """What `query_schema.load(params)` gives, loading only values not loaded before: each field loads
        its own value alone (the schema validates nothing across fields; combination_errors does), and
        nothing changes a loaded value afterwards. An invalid value raises as the whole load would, and is
        not remembered."""
        fresh, known = {}, []
        for name, value in params.items():
            loaded = self._loaded.get(f"{name}={value}")
            if loaded is None:
                fresh[name] = value
            else:
                known.append((name, loaded[0]))
        args = self.query_schema.load(fresh) if fresh else dict(self._defaults)
        for name, value in fresh.items():
            self._loaded.put(f"{name}={value}", (args[name],))  # a 1-tuple: a loaded None is still found
        args.update(known)
        return args

    # --- the SQL path ---------------------------------------------------------------------------

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
        return self._records() if self._records else self.select().order_by(self.key).iterator()

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
        records = {getattr(record, self.key.name): record for record in self.select().where(self.key.in_(keys))}
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


def combination_errors(args: dict, params) -> dict:
    """Parameters each valid alone that do not go together (contract §11)."""
    errors = {}
    if "near" in args and "radius" not in args:
        errors["radius"] = ["Required with near: the radius in kilometres, e.g. radius=300."]
    if "radius" in args and "near" not in args:
        errors["near"] = ["Required with radius: the point as LAT,LON, e.g. near=50.1109,8.6821."]
    if args["order"] == "distance" and "near" not in args:
        errors["order"] = ["order=distance needs near=LAT,LON and radius=KM."]
    if "aggregate" in args:
        errors.update({name: ["Not with aggregate: CIDR blocks come in address order."]
                       for name in ("order", "direction") if name in params})
    return errors


def _seconds(value) -> int:
    return 0 if value is None else timestamp_seconds(value)


def refuse_parameters(req) -> None:
    """A record takes no query parameters: any is a 400, as an unknown one is on a list (contract §3)."""
    if req.params:
        raise bad_request({name: ["Unknown parameter; this endpoint accepts none."] for name in req.params})


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
