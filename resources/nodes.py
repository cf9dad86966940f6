"""Measurement nodes: a JSON page or the plain-text address list (contract §2, §7), and managing them
through the API (§10): POST /nodes, PATCH and DELETE /nodes/{id}, with `nodes:write`."""
import falcon

from models import City, Country, Node, Region
from models.data_version import read_versions
from models.database import database, write_transaction
from models.base import MAX_NODE_ID
from models.node import MAX_ASN
from models.node_writes import AddressTaken, NodeMissing, NodeRow, UnknownCity, create_node, delete_node, update_node
from observability.logs import changes_logged
from resources.bodies import MERGE_PATCH, load_json
from resources.coding import GZIP, coding_for, gzipped
from resources.conditional import failed_precondition, last_modified_header
from resources.consistency import DATA_VERSION, min_data_version
from resources.errors import Problem, not_found
from resources.hooks import require_permission
from resources.list_query import FamilyFilter, IntegerFilter, TextFilter
from resources.listing import ItemResource, ListCollection, ListSpec
from resources.media import JSON, JSON_ONLY, TEXT, choose, negotiate, negotiate_among
from resources.representations import Representation, record_body
from schemas.nodes import node_schema, node_write_schema, render_node

WRITE = "nodes:write"

NODES = ListSpec(
    name="nodes",
    rows=lambda: (
        Node.select(Node, City.id, City.name, City.latitude, City.longitude,
                    Country.code, Country.name, Region.id, Region.name)
        .join(City).switch(Node).join(Country).switch(Node).join(Region)
    ),
    key=Node.id,
    filters={
        "id": IntegerFilter(Node.id, high=MAX_NODE_ID),
        "country": TextFilter(Node.country, str.upper),
        "city": IntegerFilter(Node.city),
        "region": IntegerFilter(Node.region),
        "asn": IntegerFilter(Node.asn, 0, MAX_ASN),
        "family": FamilyFilter(Node.ip),
    },
    orderings={"id": (Node.id,), "city": (City.name,), "country": (Country.name,), "region": (Region.name,)},
    default_order="id",
    schema=node_schema,
    item_filter="id",
    render=render_node,
    updated=Node.updated_at,
    text=Node.ip,
    near=(City.latitude, City.longitude),  # a node is where its city is
    aggregates=("cidr",),
)


def address_list(req, resp, representations) -> None:
    """Every matching node's address, one a line (contract §7)."""
    representations.send(req, resp, representations.text(NODES, NODES.parse(req), req), private=False)


def stored_node(node_id: int):
    """The node's record as it is in the database now (inside a write: what If-Match is compared with)."""
    rows = NODES.sql_rows([node_id])
    if not rows:
        return None
    return Representation.of(record_body(rows[0]), JSON, NODES.sql_record_modified(node_id, read_versions(database)))


def committed(resp, representations, write) -> None:
    """A write's answer names the data version it committed, and every later request to this instance (any
    worker) is answered from data at least that new (contract §12)."""
    representations.wrote(write.version)
    resp.set_header(DATA_VERSION, str(write.version))
    resp.cache_control = ["no-store"]


def written(req, resp, found, status=falcon.HTTP_OK) -> None:
    """The node's new record (read inside the write's transaction: another writer may remove it the moment that
    commits) as the answer to the write, with its validators, in the coding the request allows."""
    resp.status = status
    coding = coding_for(req, found.size)
    resp.vary = ["Accept-Encoding"]
    resp.set_header("ETag", found.gzip_etag_header if coding == GZIP else found.etag_header)
    resp.set_header("Last-Modified", last_modified_header(found))
    resp.content_type = JSON
    if coding == GZIP:
        resp.set_header("Content-Encoding", GZIP)
        resp.data = gzipped(found.body)
    else:
        resp.data = found.body


def write_problem(error: Exception) -> Problem:
    if isinstance(error, AddressTaken):
        return Problem(409, str(error), errors={"ip": [str(error)]})
    if isinstance(error, UnknownCity):
        return Problem(422, "Invalid field: city.", errors={"city": [f"No city has the GeoNames id {error.row.city}."]})
    raise error


def change_log(req):
    """The log of this request's node changes, naming its user and, for a key's token, the key."""
    return changes_logged(req.context.user["sub"], api_key=req.context.api_key)


def negotiate_node_list(req, resp, resource, params) -> None:
    """`negotiate`, except that CIDR blocks exist only as text: with `aggregate`, no `Accept` (or `*/*`) gets the
    text list and an `Accept` that allows only JSON is a 406 naming text/plain."""
    choose(req, (TEXT,) if "aggregate" in req.params else resource.media_types)


class NodeCollection(ListCollection):
    spec = NODES
    media_types = (JSON, TEXT)

    @falcon.before(negotiate_node_list)
    def on_get(self, req, resp):
        resp.vary = ["Accept"]
        if req.context.media_type == TEXT:
            address_list(req, resp, self.representations)
        else:
            super().on_get(req, resp)

    on_head = on_get

    @falcon.before(require_permission(WRITE))
    @falcon.before(negotiate_among(JSON_ONLY))
    def on_post(self, req, resp):
        min_data_version(req)  # only checked: a write works on the newest data
        body = load_json(req, node_write_schema)
        row = NodeRow(line=0, ip=body["ip"], city=body["city"], asn=body["asn"], network=body["network"])
        try:
            with change_log(req) as changes, write_transaction() as write:
                node_id = create_node(row, changes)
                found = stored_node(node_id)
        except (AddressTaken, UnknownCity) as error:
            raise write_problem(error) from None
        committed(resp, self.representations, write)
        resp.location = f"/nodes/{node_id}"
        written(req, resp, found, falcon.HTTP_CREATED)


class NodeTextList:
    """/nodes.txt: the address list whatever the Accept header says."""

    def __init__(self, representations):
        self.representations = representations

    def on_get(self, req, resp):
        address_list(req, resp, self.representations)

    on_head = on_get


class NodeItem(ItemResource):
    spec = NODES
    noun = "node with id"

    @falcon.before(negotiate)
    def on_get(self, req, resp, node):
        super().on_get(req, resp, node=node)

    on_head = on_get

    @staticmethod
    def require_preconditions(req, node_id: int) -> None:
        """If-Match and If-None-Match against the node as stored now: called first in the write's transaction,
        whose lock keeps it so until the write. A request without them reads nothing here."""
        if req.get_header("If-Match") is None and req.get_header("If-None-Match") is None:
            return
        current = stored_node(node_id)
        if current is None:
            raise NodeMissing(node_id)
        reason = failed_precondition(req, current)
        if reason is not None:
            raise Problem(412, reason, headers={"ETag": current.etag_header})

    @falcon.before(require_permission(WRITE))
    @falcon.before(negotiate_among(JSON_ONLY))
    def on_patch(self, req, resp, node):
        min_data_version(req)
        fields = load_json(req, node_write_schema, media_types=(MERGE_PATCH, JSON), partial=True)
        try:
            with change_log(req) as changes, write_transaction() as write:
                self.require_preconditions(req, node)
                update_node(node, fields, changes)
                found = stored_node(node)
        except NodeMissing:
            raise not_found(f"No node with id {node}.") from None
        except (AddressTaken, UnknownCity) as error:
            raise write_problem(error) from None
        committed(resp, self.representations, write)
        written(req, resp, found)

    # No negotiation: a 204 has no content for Accept to choose, and errors are problem+json whatever it says
    # (a generated client sends `Accept: application/problem+json`, the one media type DELETE documents).
    @falcon.before(require_permission(WRITE))
    def on_delete(self, req, resp, node):
        min_data_version(req)
        try:
            with change_log(req) as changes, write_transaction() as write:
                self.require_preconditions(req, node)
                delete_node(node, changes)
        except NodeMissing:
            raise not_found(f"No node with id {node}.") from None
        committed(resp, self.representations, write)
        resp.status = falcon.HTTP_NO_CONTENT
