"""Measurement nodes: a JSON page, or the plain-text address list (contract §2, §7)."""
from models import City, Country, Node, Region
from models.streaming import fetch_batches
from resources.cache import respond
from resources.listing import IntegerFilter, ItemResource, ListCollection, ListSpec, TextFilter
from resources.media import JSON, TEXT, TEXT_UTF8, serialize
from schemas.nodes import node_schema

NODES = ListSpec(
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
        "asn": IntegerFilter(Node.asn, 0, 2**32 - 1),
    },
    orderings={"id": (Node.id,), "city": (City.name,), "country": (Country.name,), "region": (Region.name,)},
    default_order="id",
    schema=node_schema,
)


def address_list(req, resp) -> None:
    """Every matching node's address, one a line, in the list's order; not paginated."""

    def render(args):
        query = NODES.projection(args, Node.ip)
        # Blocks of lines, each built from one batch of tuples: memory stays near the body's size.
        blocks = ["".join(f"{ip}\n" for (ip,) in rows) for rows in fetch_batches(query)]
        return TEXT_UTF8, serialize(resp, TEXT, blocks)

    respond(req, resp, TEXT, lambda: NODES.parse(req), render)


class NodeCollection(ListCollection):
    spec = NODES
    media_types = (JSON, TEXT)

    def on_get(self, req, resp):
        resp.vary = ["Accept"]
        if req.context.media_type == TEXT:
            address_list(req, resp)
        else:
            super().on_get(req, resp)


class NodeTextList:
    media_types = None  # text/plain whatever the Accept header says

    def on_get(self, req, resp):
        address_list(req, resp)


class NodeItem(ItemResource):
    spec = NODES
    noun = "node with id"
