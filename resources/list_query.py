"""A list's query string (contract §3, §11): the filters a list declares, what parsing gives (`ListQuery`),
and the parsing (`QueryParsing`, part of every `ListSpec`).

Parsing turns a query string into a `ListQuery`, or a 400 naming every parameter that is wrong. It costs more
than answering a cached page, so whole query strings and single `name=value` values are remembered
(`ParseMemo`, bounded).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from marshmallow import ValidationError
from peewee import Field

from models import fold
from models.base import MAX_ID
from models.distance import Near
from resources.errors import bad_request
from schemas.query import chosen_values, integer_values, text_values

# Parameter values remembered as loaded, per list, and the longest worth it (a page number, an ordering, a
# few countries; a point with its radius churns the entries and gains little).
LOADED_VALUES = 4096
LONGEST_LOADED_VALUE = 64


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


class QueryParsing:
    """The parsing of a list's query strings by its `query_schema` (marshmallow; see schemas/query.py), for
    the filters it declares."""

    filters: dict

    def __init__(self, query_schema):
        self.query_schema = query_schema
        self.parameters = tuple(query_schema.fields)
        self._parsed = ParseMemo()
        # Varied traffic (any page, order, country) rarely repeats a query string but keeps repeating each
        # parameter: a value loaded once is reused (see load_params).
        self._loaded = ParseMemo(entries=LOADED_VALUES, longest=LONGEST_LOADED_VALUE)
        self._defaults = query_schema.load({})

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


def refuse_parameters(req) -> None:
    """A record takes no query parameters: any is a 400, as an unknown one is on a list (contract §3)."""
    if req.params:
        raise bad_request({name: ["Unknown parameter; this endpoint accepts none."] for name in req.params})
