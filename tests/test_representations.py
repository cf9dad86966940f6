"""A node assembled from its pre-rendered pieces is byte for byte what NodeSchema writes, and a list body is
what a client would parse back."""
from datetime import datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import City, Country, Node, Region
from resources.representations import list_body, record_body
from schemas.nodes import node_head, node_place, node_schema, node_tail, render_node, timestamp_seconds, \
    timestamp_text
from tests.data import LONDON
from tests.helpers import examples

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
networks = st.one_of(st.none(), st.text(max_size=40), st.just('quote " backslash \\ tab \t é 🙂'))
times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0))


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(node_id=st.integers(1, 2**31 - 1), ip=addresses, asn=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
       network=networks, created=times, updated=times)
def test_a_node_from_its_pieces_is_what_the_schema_writes(db, node_id, ip, asn, network, created, updated):
    city = City.select(City, Country, Region).join(Country).switch(City).join(Region).where(City.id == LONDON).get()
    node = Node(id=node_id, ip=ip, asn=asn, network=network, city=city, country=city.country, region=city.region,
                created_at=created, updated_at=updated)
    expected = orjson.dumps(node_schema.dump(node))
    assert render_node(node) == expected
    assert (node_head(node_id, ip, asn, network) + node_place(city, city.country, city.region)
            + node_tail(timestamp_text(created), timestamp_text(updated))) == expected


@given(moment=times)
def test_sqlite_text_and_datetimes_give_the_same_times(moment):
    stored = moment.strftime("%Y-%m-%d %H:%M:%S")
    assert timestamp_text(stored) == timestamp_text(moment) == moment.isoformat() + "+00:00"
    assert timestamp_seconds(stored) == timestamp_seconds(moment)
    assert timestamp_text(stored + ".123456") == timestamp_text(moment)


def test_bodies_are_the_envelopes_of_the_contract():
    rows = [b'{"id":1}', b'{"id":2}']
    assert orjson.loads(list_body(rows, {"pagination": {"total": 2}})) == {
        "data": [{"id": 1}, {"id": 2}], "meta": {"pagination": {"total": 2}}}
    assert orjson.loads(list_body([], {"pagination": {}})) == {"data": [], "meta": {"pagination": {}}}
    assert orjson.loads(record_body(rows[0])) == {"data": {"id": 1}}



@settings(max_examples=examples(500), deadline=None)
@given(st.text())
def test_a_link_parameter_is_encoded_as_urlencode_encodes_it(value):
    from urllib.parse import urlencode

    from resources.representations import encoded

    assert f"name={encoded(value)}" == urlencode([("name", value)])
