"""The list machinery on its own (resources/listing.py, list_query.py): a declared ListSpec parsing query strings."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from falcon import testing

from models.distance import Near
from resources.errors import Problem
from resources.list_query import ParseMemo
from resources.locations import CITIES, REGIONS
from resources.nodes import NODES
from tests.helpers import examples


def parse(spec, query: str):
    return spec.parse(testing.create_req(query_string=query))


def errors_of(spec, query: str) -> dict:
    with pytest.raises(Problem) as raised:
        parse(spec, query)
    assert raised.value.status_code == 400
    return raised.value.errors


def test_defaults():
    query = parse(REGIONS, "")
    assert (query.filters, query.order, query.descending, query.page, query.per_page, query.near,
            query.aggregate) == ((), "id", False, 1, 50, None, None)


def test_filters_are_normalised_and_given_keeps_the_declared_order():
    query = parse(NODES, "asn=4294967296,13335,13335&country=gb,Fr&page=2&id=0,7")
    assert query.filter_values == {"id": (7,), "country": ("FR", "GB"), "asn": (13335,)}
    assert [name for name, _ in query.given] == ["page", "id", "country", "asn"]  # the spec's order, not the URL's
    assert query.offset == 50 and query.text_key == (("id", "0,7"), ("country", "gb,Fr"), ("asn", "4294967296,13335,13335"))


def test_text_filters_fold_case():
    assert parse(REGIONS, "name=NORTHERN%20Europe").filter_values == {"name": ("northern europe",)}


def test_unknown_and_repeated_parameters_are_named():
    errors = errors_of(REGIONS, "colour=red&page=1&page=2")
    assert set(errors) == {"colour", "page"} and "accepts: page, perPage" in errors["colour"][0]


@pytest.mark.parametrize("query, names", [
    ("near=1,2", {"radius"}),
    ("radius=5", {"near"}),
    ("order=distance", {"order"}),
    ("order=distance&radius=5", {"order", "near"}),
])
def test_parameters_that_need_each_other(query, names):
    assert set(errors_of(CITIES, query)) == names


def test_near_is_parsed_into_a_point_and_radius():
    query = parse(CITIES, "near=%2B50.5,-8&radius=.5&order=distance&direction=desc")
    assert query.near == Near(50.5, -8.0, 0.5) and query.order == "distance" and query.descending


@pytest.mark.parametrize("near", ["%2050.5,-8", "+50.5,-8", "50.5,%20-8", "50.5%20,-8", "50.5,-8%20", "50.5,,-8", "50.5;-8"])
def test_near_is_parsed_strictly(near):
    """Contract §14: no spaces anywhere, as with every other number in a query string."""
    assert set(errors_of(CITIES, f"near={near}&radius=5")) == {"near"}


def test_aggregate_belongs_to_nodes_and_excludes_ordering():
    assert parse(NODES, "aggregate=cidr&family=4").aggregate == "cidr"
    assert set(errors_of(NODES, "aggregate=cidr&order=id&direction=asc")) == {"order", "direction"}
    assert set(errors_of(CITIES, "aggregate=cidr")) == {"aggregate"}  # not declared there: unknown
    assert set(errors_of(REGIONS, "order=distance")) == {"order"}  # no coordinates, no distance


def test_parsed_queries_are_bounded_in_count_and_length():
    memo = ParseMemo()
    query = parse(REGIONS, "")
    for index in range(ParseMemo.ENTRIES + 10):
        memo.put(f"page={index}", query)
    assert memo.get("page=0") is None and memo.get(f"page={ParseMemo.ENTRIES + 9}") is query
    memo.put("x" * (ParseMemo.LONGEST + 1), query)
    assert memo.get("x" * (ParseMemo.LONGEST + 1)) is None


# Values each parameter of /nodes can be given: valid, invalid and odd, so that a load meets both a memo hit
# and a fresh value, alone and together.
PARAMETER_VALUES = {
    "page": ["1", "2", "0", "x", "2000", "1e3", " 3"],
    "perPage": ["10", "1001", "", "50"],
    "order": ["id", "city", "distance", "bogus", "ID"],
    "direction": ["asc", "desc", "up"],
    "country": ["GB", "gb,FR", "", "G\u00e9", "XX,YY,ZZ"],
    "family": ["4", "6", "4,6", "5", "4,4"],
    "asn": ["13335", "x", "1,2"],
    "near": ["50,8", "91,0", "a,b", "50.1109,8.6821"],
    "radius": ["10", "0", "-1", "20001", "5.5"],
    "aggregate": ["cidr", "other"],
}


def schema_load(spec, params: dict):
    """What the schema's own load gives: the loaded dict, or the error messages."""
    from marshmallow import ValidationError

    try:
        return spec.query_schema.load(params)
    except ValidationError as error:
        return error.messages


def remembered_load(spec, params: dict):
    from marshmallow import ValidationError

    try:
        return spec.load_params(params)
    except ValidationError as error:
        return error.messages


@settings(max_examples=examples(400), deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(PARAMETER_VALUES)), st.integers(0, 6), max_size=6))
def test_parameters_loaded_once_load_as_the_schema_loads_them(choices):
    params = {name: PARAMETER_VALUES[name][index % len(PARAMETER_VALUES[name])] for name, index in choices.items()}
    # Twice: the first may load fresh values, the second finds them remembered.
    assert remembered_load(NODES, params) == schema_load(NODES, params)
    assert remembered_load(NODES, params) == schema_load(NODES, params)


def test_values_of_a_query_in_error_are_not_remembered_those_of_a_valid_one_are(monkeypatch):
    monkeypatch.setattr(NODES, "_loaded", ParseMemo(entries=64, longest=64))  # none from other tests
    errors_of(NODES, "perPage=7&page=0")
    assert NODES._loaded.get("perPage=7") is None and NODES._loaded.get("page=0") is None
    assert parse(NODES, "perPage=7&page=77").per_page == 7
    assert NODES._loaded.get("perPage=7") == (7,) and NODES._loaded.get("page=77") == (77,)
    assert parse(NODES, "page=77&order=region").page == 77  # a remembered value beside a fresh one
