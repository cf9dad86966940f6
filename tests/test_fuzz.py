"""Arbitrary input at every endpoint: never a 5xx, every error problem+json, every answer as documented.

Requests go through the contract-checking client, so each response is also validated against openapi.yaml.
"""
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import DOCUMENT
from tests.helpers import examples

EXAMPLES = examples(400)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PATHS = [path.replace("{country}", "GB").replace("{region}", "154").replace("{city}", "2643743")
         .replace("{node}", "1") for path in DOCUMENT["paths"]]
PARAMETERS = ["page", "perPage", "order", "direction", "id", "name", "code", "country", "city", "region",
              "continent", "asn", "x"]

text = st.text(st.characters(codec="utf-8"), max_size=30)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
headers = st.fixed_dictionaries({}, optional={
    "Accept": st.sampled_from(["text/plain", "application/json;q=0.1, text/*", "*/*;q=0", "text/html"]) | header_text,
    "Authorization": st.sampled_from(["Bearer ", "Bearer a.b.c", "Basic x"]) | header_text,
    "If-None-Match": st.sampled_from(["*", 'W/"x"', '"1-0"']) | header_text,
    "X-Request-ID": header_text,
})


def assert_sound(result):
    assert result.status_code < 500, result.text
    if result.status_code >= 400:
        assert result.headers["content-type"] == "application/problem+json"
        assert result.json["status"] == result.status_code


@FUZZ
@given(path=st.sampled_from(PATHS), query=st.lists(st.tuples(st.sampled_from(PARAMETERS), text), max_size=4),
       raw=st.binary(max_size=20), headers=headers)
def test_query_strings_and_headers(client, path, query, raw, headers):
    query_string = "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
    if raw:  # bytes as they may arrive: broken escapes, stray separators
        query_string += "&" + "".join(f"%{b:02X}" if b > 127 or b < 32 else chr(b) for b in raw)
    assert_sound(client.simulate_get(path, query_string=query_string, headers=headers))


@FUZZ
@given(segments=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=12),
                          min_size=1, max_size=3),
       prefix=st.sampled_from(["", "/nodes", "/cities", "/regions", "/countries", "/auth", "/docs/static"]))
def test_paths(client, prefix, segments):
    path = prefix + "/" + "/".join(quote(segment) for segment in segments)
    assert_sound(client.simulate_get(path))


@FUZZ
@given(body=json_values | st.fixed_dictionaries(
    {"username": text, "password": text}, optional={"otp": json_values}),
       headers=headers)
def test_login_bodies(anonymous, body, headers):
    assert_sound(anonymous.simulate_post("/auth", json=body, headers=headers))


@FUZZ
@given(body=st.binary(max_size=200), content_type=st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", "", "application/x-www-form-urlencoded"]))
def test_raw_bodies(anonymous, body, content_type):
    result = anonymous.simulate_post("/auth", body=body, headers={"Content-Type": content_type} if content_type else {})
    assert_sound(result)
