"""Measurement nodes: a JSON page, or the plain-text address list (contract §2, §7)."""
import falcon

from models import City, Country, Node, Region
from models.node import MAX_ASN
from resources.conditional import not_modified, send
from resources.listing import IntegerFilter, ItemResource, ListCollection, ListSpec, TextFilter
from resources.media import JSON, TEXT, negotiate
from schemas.nodes import node_schema, render_node

NODES = ListSpec(
    name="nodes",
    select=lambda: (
        Node.select(Node, City.id, City.name, City.latitude, City.longitude,
                    Country.code, Country.name, Region.id, Region.name)
        .join(City).switch(Node).join(Country).switch(Node).join(Region)
    ),
    key=Node.id,
    filters={
        "id": IntegerFilter(Node.id),
        "country": TextFilter(Node.country, str.upper),
        "city": IntegerFilter(Node.city),
        "region": IntegerFilter(Node.region),
        "asn": IntegerFilter(Node.asn, 0, MAX_ASN),
    },
    orderings={"id": (Node.id,), "city": (City.name,), "country": (Country.name,), "region": (Region.name,)},
    default_order="id",
    schema=node_schema,
    item_filter="id",
    render=render_node,
    updated=Node.updated_at,
    text=Node.ip,
)


def address_list(req, resp, representations) -> None:
    """Every matching node's address, one a line (contract §7)."""
    found = representations.text(NODES, NODES.parse(req), known=lambda found: not_modified(req, found))
    send(req, resp, found, private=False)


@falcon.before(negotiate)
class NodeCollection(ListCollection):
    spec = NODES
    media_types = (JSON, TEXT)

    def on_get(self, req, resp):
        resp.vary = ["Accept"]
        if req.context.media_type == TEXT:
            address_list(req, resp, self.representations)
        else:
            super().on_get(req, resp)

    on_head = on_get


class NodeTextList:
    """/nodes.txt: the address list whatever the Accept header says."""

    def __init__(self, representations):
        self.representations = representations

    def on_get(self, req, resp):
        address_list(req, resp, self.representations)

    on_head = on_get


@falcon.before(negotiate)
class NodeItem(ItemResource):
    spec = NODES
    noun = "node with id"
