"""What a GET on a list or a record sends: its body, content type, ETag and Last-Modified.

Answered from this worker's read model when it has a current snapshot, else from the database (the same
bytes either way), and kept in the response cache, keyed by the parsed query and valid while the data it
was made from is unchanged (a big body's validators only). The ETag is a digest of the body, so it changes
when, and only when, what a client would receive changes. Each answer names the data version it was made
from (contract §12), is at least as new as the request's X-Min-Data-Version, and is never older than a
representation the client already holds (a conditional request whose tag this worker does not know has the
database's version looked at first).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote_plus

import orjson

from models.data_version import VersionAhead, read_versions
from models.database import database
from models.dating import settled
from readmodel.table import page_of
from readmodel.tagged import Tagged, content_tag
from resources.cache import ResponseCache
from resources.caching import CachePolicy
from resources.coding import CodedBodies, add_vary
from resources.conditional import http_date, not_modified, send_representation
from resources.consistency import DATA_VERSION, MIN_DATA_VERSION, min_data_version
from resources.media import JSON, TEXT_UTF8


@dataclass(frozen=True, slots=True)
class Representation:
    body: bytes | None  # None: its validators only (see ResponseCache)
    content_type: str
    etag: str  # the opaque tag, unquoted
    last_modified: int  # seconds since the epoch: the second the data shown last changed
    size: int  # of the body, kept when the body is not (the coding a request gets depends on it)
    # The header values, written once rather than on every response (a 304 poll is little else).
    etag_header: str
    gzip_etag_header: str  # the tag of its gzip coding (contract §13)
    settled_header: str | None  # Last-Modified once that second is settled, else None (resources/conditional.py)
    link_header: str | None = None  # a page's links to its neighbours (RFC 8288)

    @classmethod
    def of(cls, body: bytes, content_type: str, last_modified: int, link_header: str | None = None
           ) -> "Representation":
        """`body` with its validators: its content tag (a kept body comes with it, hashed once) and
        Last-Modified."""
        if isinstance(body, Tagged):
            body, tag = body
        else:
            tag = content_tag(body)
        return cls(body, content_type, tag, last_modified, len(body), f'"{tag}"', f'"{tag}-gzip"',
                   http_date(last_modified + 1) if settled(last_modified) else None, link_header)

    def without_body(self) -> "Representation":
        return Representation(None, self.content_type, self.etag, self.last_modified, self.size, self.etag_header,
                              self.gzip_etag_header, self.settled_header, self.link_header)


class Answer(NamedTuple):
    representation: Representation | None  # None: no such record
    data_version: int  # the data it was made from (X-Data-Version)


def list_body(rows: list, meta: dict) -> bytes:
    return b'{"data":[' + b",".join(rows) + b'],"meta":' + orjson.dumps(meta) + b"}"


def record_body(row: bytes) -> bytes:
    return b'{"data":' + row + b"}"


# What quote_plus leaves as it is (RFC 3986's unreserved characters): most values are only these.
UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def encoded(value: str) -> str:
    """`value` as urlencode writes it (quote_plus), without its cost when nothing needs escaping."""
    return value if UNRESERVED.fullmatch(value) else quote_plus(value)


class Pages(NamedTuple):
    """Where a page stands among its query's pages, and the URL of any page (path and query string)."""

    base: str  # the URL without the page number
    page: int
    total_pages: int
    previous: int  # 0: none
    following: int  # 0: none

    @classmethod
    def of(cls, path: str, query, total: int) -> "Pages":
        page, total_pages = query.page, -(-total // query.per_page)
        # Links keep every other parameter, in the order the list declares them.
        others = "&".join(f"{name}={encoded(value)}" for name, value in query.given if name != "page")
        # Past the end, "previous" leads back to the last page that has rows.
        return cls(f"{path}?{others}&page=" if others else f"{path}?page=", page,
                   total_pages, min(page - 1, total_pages) if page > 1 else 0,
                   page + 1 if page < total_pages else 0)

    def url(self, page: int) -> str | None:
        return f"{self.base}{page}" if page else None

    def link_header(self) -> str:
        """RFC 8288 links, as GitHub sends them: next and prev where they exist, first and last always (the
        last of no rows is page 1). URLs are path-absolute references, resolved against the request's URL."""
        links = [("next", self.following), ("prev", self.previous), ("first", 1), ("last", max(self.total_pages, 1))]
        return ", ".join(f'<{self.url(page)}>; rel="{rel}"' for rel, page in links if page)


def pagination(pages: Pages, total: int, count: int, per_page: int) -> dict:
    return {"pagination": {
        "total": total,
        "count": count,
        "perPage": per_page,
        "currentPage": pages.page,
        "totalPages": pages.total_pages,
        "links": {"previous": pages.url(pages.previous), "next": pages.url(pages.following)},
    }}


def page_from_memory(table, query) -> tuple[list, int, int]:
    """(rows of the page, total, Last-Modified) from a read-model table."""
    if query.order == "distance":
        found = table.distance_page(query.filter_values, query.near, query.descending, query.offset,
                                    query.per_page)
        if found is not None:
            slots, metres, total, modified = found
            return table.render(slots, metres), total, modified
    matches, metres, modified = table.selection(query.filter_values, query.order, query.near)
    slots = page_of(matches, query.descending, query.offset, query.per_page)
    if metres is not None:
        metres = page_of(metres, query.descending, query.offset, query.per_page)
    elif query.near is not None:  # a circle round the whole sphere: measured for the page's rows only
        metres = table.measure(slots, query.near)
    return table.render(slots, metres), len(matches), modified


def page_from_database(spec, query, versions) -> tuple[list, int, int]:
    """The same from the database (a radius search's band read once)."""
    near = spec.sql_near(query) if query.near is not None else None
    keys, total, metres = spec.sql_page(query, near)
    return spec.sql_rows(keys, metres), total, spec.sql_modified(query, versions, near)


def text_from_database(spec, query, versions) -> tuple[bytes, int]:
    near = spec.sql_near(query) if query.near is not None else None
    return spec.sql_lines(query, near), spec.sql_modified(query, versions, near)


def text_from_memory(table, query) -> tuple[bytes, int]:
    """(the text list, Last-Modified) from the node table."""
    if query.order == "distance" and not query.aggregate:
        found = table.distance_text(query.filter_values, query.near, query.descending)
        if found is not None:
            return found
    matches, _, modified = table.selection(query.filter_values, query.order, query.near)
    if query.aggregate:
        body = table.cidr(matches, query.filter_values, query.near)
    else:
        body = table.text(matches, query.filter_values, query.near, query.order, query.descending)
    return body, modified


class Representations:
    def __init__(self, read_model, cache: ResponseCache, coded: CodedBodies, policy: CachePolicy):
        self.read_model = read_model  # None: every answer comes from the database
        self.cache = cache
        self.coded = coded
        self.policy = policy

    def send(self, req, resp, answer: Answer, *, private: bool) -> None:
        """The answer's representation with its validators, in the coding the request allows, or 304."""
        representation = answer.representation
        resp.set_header(DATA_VERSION, str(answer.data_version))
        # A cache must not answer a request naming a newer version with an older copy (contract §13).
        add_vary(resp, "Accept-Encoding", MIN_DATA_VERSION)
        if representation is not None and representation.link_header:
            resp.set_header("Link", representation.link_header)
        send_representation(req, resp, representation, self.policy.header(private),
                            lambda: self.coded.gzip(representation.etag, representation.body))

    def page(self, spec, query, path: str, req) -> Answer:
        """A page of a list as JSON with its pagination metadata (contract §3)."""
        def make(answer):
            rows, total, modified = answer
            pages = Pages.of(path, query, total)
            return Representation.of(list_body(rows, pagination(pages, total, len(rows), query.per_page)), JSON,
                                     modified, pages.link_header())

        return self._answer(spec, (spec.name, JSON, query.given), lambda table: page_from_memory(table, query),
                            lambda versions: page_from_database(spec, query, versions), make, req)

    def text(self, spec, query, req) -> Answer:
        """Every match's address, one a line, unpaginated (contract §7), or as CIDR blocks (§11)."""
        return self._answer(spec, (spec.name, TEXT_UTF8, query.text_key), lambda table: text_from_memory(table, query),
                            lambda versions: text_from_database(spec, query, versions),
                            lambda answer: Representation.of(answer[0], TEXT_UTF8, answer[1]), req)

    def record(self, spec, key, req) -> Answer:
        """One record by its key (the answer's representation is None when there is none)."""
        def from_memory(table):
            slot = table.slot_of(spec.item_filter, key)
            return None if slot is None else (table.render_record(slot), table.record_modified(slot))

        def from_database(versions):
            rows = spec.sql_rows([key])
            return (rows[0], spec.sql_record_modified(key, versions)) if rows else None

        return self._answer(spec, (spec.name, "record", key), from_memory, from_database,
                            lambda answer: answer and Representation.of(record_body(answer[0]), JSON, answer[1]), req)

    def wrote(self, version: int) -> None:
        """A write committed at `version` is answering: every later request to this instance sees it."""
        if self.read_model is not None:
            self.read_model.instance.raise_to(version)

    def _answer(self, spec, key: tuple, from_memory, from_database, make, req) -> Answer:
        """From the current snapshot (through the cache), else from the database."""
        at_least = min_data_version(req)
        snapshot = self.read_model.current(at_least) if self.read_model is not None else None
        if snapshot is None:
            return self._from_database(from_database, make, at_least)
        found = self._from_snapshot(snapshot, spec, key, from_memory, make, req)
        if req.get_header("If-None-Match") is not None and (found is None or not not_modified(req, found)):
            # The client holds what this snapshot does not show, perhaps from a newer one another worker or
            # instance served: never answer it with older data (contract §12).
            newest = self.read_model.current(at_least, recheck=True)
            if newest is None:
                return self._from_database(from_database, make, at_least)
            if newest is not snapshot:
                snapshot, found = newest, self._from_snapshot(newest, spec, key, from_memory, make, req)
        return Answer(found, snapshot.versions.data)

    @staticmethod
    def _from_database(from_database, make, at_least: int) -> Answer:
        versions = read_versions(database)
        if versions.data < at_least:
            raise VersionAhead(at_least, versions.data)
        return Answer(make(from_database(versions)), versions.data)

    def _from_snapshot(self, snapshot, spec, key: tuple, from_memory, make, req):
        """From the cache, else made from the snapshot (then cached). A cached entry without its body (see
        ResponseCache) does when the client has that representation already (its validators match)."""
        version = snapshot.version_of(spec.name)
        found = self.cache.get(key, version)
        if found is not None and found.body is None and not not_modified(req, found):
            return make(from_memory(snapshot.tables[spec.name]))
        if found is None:
            found = make(from_memory(snapshot.tables[spec.name]))
            if found is not None:  # a missing record is not kept: keys are the client's to choose
                self.cache.put(key, version, found)
        return found
