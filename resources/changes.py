"""GET /nodes/changes?after=V (contract §13): what changed in the node list after data version V, oldest first.

Read from the change log (models/node_changes.py) in one consistent view with the data version. The filters of
/nodes apply to a node's state before and after each change: a node that leaves the filtered set is `removed`
(with its last state), one that enters it `created`, one that stays `updated`. So applying the entries to the
list at V gives the list at `meta.version` exactly; `next` continues after the last entry, `null` when caught
up. V older than the kept history is a 410; newer than the data, a 400.
"""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

import numpy as np
import orjson
from marshmallow import Schema, ValidationError, validate

from models import City, Country, Region
from models.base import MAX_NODE_ID
from models.data_version import VersionAhead, read_versions
from models.database import database
from models.node_changes import STATE, changes_between
from readmodel.snapshot import read_transaction
from resources.consistency import min_data_version
from resources.errors import Problem, bad_request
from resources.media import JSON
from resources.representations import Answer, Representation
from schemas.fields import DecimalInteger
from schemas.nodes import node_head, node_tail, render_node, timestamp_text

FILTERS = ("country", "city", "region", "asn", "family")
DEFAULT_PER_PAGE = MAX_PER_PAGE = 1000
ACTIONS = {(True, False): b"created", (False, True): b"removed", (True, True): b"updated"}


def feed_query_schema(node_filters: dict) -> Schema:
    declared = {
        "after": DecimalInteger(required=True, validate=validate.Range(0, MAX_NODE_ID)),
        "perPage": DecimalInteger(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE)),
        **{name: node_filters[name].field() for name in FILTERS},
    }
    return Schema.from_dict(declared, name="NodeChangesQuery")()


class NodeChanges:
    def __init__(self, representations, node_filters: dict):
        self.representations = representations
        self.node_filters = {name: node_filters[name] for name in FILTERS}
        self.schema = feed_query_schema(node_filters)

    def on_get(self, req, resp):
        after, per_page, filters = self._parse(req)
        at_least = min_data_version(req)
        if self._caught_up(req, resp, after, at_least):
            return
        with read_transaction():
            versions = read_versions(database)
            if versions.data < at_least:
                raise VersionAhead(at_least, versions.data)
            if after > versions.data:
                raise bad_request({"after": [f"No data is at version {after} yet: the newest is {versions.data}."]})
            if after < versions.change_log_floor:
                raise Problem(410, f"The change history no longer reaches back to version {after} (it holds the "
                                   f"changes after {versions.change_log_floor}): read the whole list again "
                                   "(/nodes or /nodes.txt), then follow the changes after its X-Data-Version.")
            rows = changes_between(after, versions.data, filters, per_page + 1)
            entries = self._entries(rows[:per_page], self._places(versions.reference))
        more = len(rows) > per_page
        reached = rows[per_page - 1][0] if more else versions.data
        others = [(name, value) for name, value in req.params.items() if name != "after"]
        following = f"/nodes/changes?{urlencode([('after', reached), *others])}" if more else None
        body = (b'{"data":[' + b",".join(entries) + b'],"meta":'
                + orjson.dumps({"version": reached, "next": following}) + b"}")
        modified = max([row[2] for row in rows[:per_page]], default=versions.reference_changed_at)
        link = f'<{following}>; rel="next"' if following else None  # RFC 8288, as on the paginated lists
        self.representations.send(req, resp, Answer(Representation.of(body, JSON, modified, link), versions.data),
                                  private=False)

    on_head = on_get

    def _parse(self, req) -> tuple[int, int, dict]:
        params = req.params
        known = ", ".join(self.schema.fields)
        errors = {name: [f"Unknown parameter; this endpoint accepts: {known}."]
                  for name in params if name not in self.schema.fields}
        errors.update({name: ["Given more than once; give it once (a list is comma-separated)."]
                       for name, value in params.items() if isinstance(value, list) and name not in errors})
        if errors:
            raise bad_request(errors)
        try:
            args = self.schema.load(params)
        except ValidationError as error:
            raise bad_request(error.messages) from None
        filters = {name: spec.normalise(args[name]) for name, spec in self.node_filters.items() if name in args}
        return args["after"], args["perPage"], filters

    def _caught_up(self, req, resp, after: int, at_least: int) -> bool:
        """A follower already at the data this worker holds (confirmed current, never read here): the empty
        page, the poll most followers make, answered without a transaction."""
        read_model = self.representations.read_model
        snapshot = read_model.confirmed() if read_model is not None else None
        if snapshot is None or after != snapshot.versions.data or at_least > after:
            return False
        body = b'{"data":[],"meta":{"version":%d,"next":null}}' % after
        answer = Answer(Representation.of(body, JSON, snapshot.versions.reference_changed_at), after)
        self.representations.send(req, resp, answer, private=False)
        return True

    def _places(self, reference_version: int):
        """The read model's cities at this reference version, when this worker holds them (never read here)."""
        read_model = self.representations.read_model
        snapshot = read_model.confirmed() if read_model is not None else None
        if snapshot is not None and snapshot.versions.reference == reference_version:
            return snapshot.places
        return None

    @staticmethod
    def _entries(rows: list, places=None) -> list[bytes]:
        """Each logged change as `{"version","action","node"}`; a removed node as it last was. With `places`
        (the read model's cities), each node's place is cut from its city's rendered row, as the node list's
        are; else the cities are read and dumped (1,000 entries cost about 65 ms so, 5 ms from `places`)."""
        width = len(STATE)
        states = [dict(zip(STATE, row[5:5 + width] if row[3] else row[5 + width:5 + 2 * width])) for row in rows]
        if places is not None and states:
            fragments = places.fragments(places.city_index(np.array([state["city_id"] for state in states])))
            return [b'{"version":%d,"action":"%s","node":%s%s%s}' % (
                        row[0], ACTIONS[(bool(row[3]), bool(row[4]))],
                        node_head(row[1], state["ip"], state["asn"], state["network"]), fragment,
                        node_tail(timestamp_text(state["created_at"]), timestamp_text(state["updated_at"])))
                    for row, state, fragment in zip(rows, states, fragments)]
        cities = list({state["city_id"] for state in states})
        places = {city.id: city for city in City.select(City, Country, Region).join(Country).switch(City)
                  .join(Region).where(City.id.in_(cities))} if cities else {}
        entries = []
        for row, state in zip(rows, states):
            version, node_id, _, now_in, was_in = row[:5]
            action = ACTIONS[(bool(now_in), bool(was_in))]
            city = places[state["city_id"]]
            node = SimpleNamespace(id=node_id, ip=state["ip"], asn=state["asn"], network=state["network"],
                                   city=city, country=city.country, region=city.region,
                                   created_at=state["created_at"], updated_at=state["updated_at"])
            entries.append(b'{"version":%d,"action":"%s","node":%s}' % (version, action, render_node(node)))
        return entries
