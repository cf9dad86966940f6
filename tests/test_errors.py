"""Contract §4: every error is problem+json, whatever the Accept header; client input never makes a 500."""
import pytest

from tests.helpers import assert_problem


@pytest.mark.parametrize("path", [
    "/nope", "/nodes/0", "/nodes/-1", "/nodes/2147483648", "/nodes/123456789012345678901234567890",
    "/nodes/abc", "/nodes/1.5", "/nodes/%EF%BC%91%EF%BC%92", "/nodes/+5", "/nodes/%205", "/nodes/1e3", "/regions/0", "/regions/99999999999", "/cities/-5", "/countries/GBR",
    "/countries/1", "/countries/%C3%A9x", "/nodes/", "/nodes.json",
])
def test_unknown_paths_and_out_of_range_ids_are_404(client, path):
    body = assert_problem(client.simulate_get(path), 404)
    assert body["detail"]


@pytest.mark.parametrize("path, detail", [
    ("/nodes/999", "No node with id 999."),
    ("/regions/999", "No region with id 999."),
    ("/cities/1", "No city with id 1."),
    ("/countries/ZZ", "No country with code 'ZZ'."),
])
def test_unknown_records_are_404_naming_them(client, path, detail):
    assert assert_problem(client.simulate_get(path), 404)["detail"] == detail


@pytest.mark.parametrize("accept", ["text/plain", "text/html", "application/xml", "image/png"])
def test_errors_are_json_whatever_the_accept_header(client, accept):
    assert_problem(client.simulate_get("/nope", headers={"Accept": accept}), 404)
    assert_problem(client.simulate_get("/nodes.txt?page=0", headers={"Accept": accept}), 400)
    assert_problem(client.simulate_get("/nodes/999", headers={"Accept": f"{accept}, application/json;q=0.1"}), 404)


def test_errors_of_the_text_list_are_json(client):
    assert_problem(client.simulate_get("/nodes?page=0", headers={"Accept": "text/plain"}), 400)


def test_wrong_method_is_405_with_allow(client):
    result = client.simulate_post("/cities")
    assert_problem(result, 405)
    assert result.headers["allow"].replace(" ", "").split(",") == ["GET", "HEAD", "OPTIONS"]
    assert_problem(client.simulate_delete("/countries/GB"), 405)
    assert_problem(client.simulate_put("/nodes/1"), 405)


def test_nothing_acceptable_is_406(client):
    assert_problem(client.simulate_get("/countries", headers={"Accept": "text/html"}), 406)
    assert_problem(client.simulate_get("/nodes", headers={"Accept": "application/xml"}), 406)


def test_body_over_64_kib_is_413_before_it_is_read(client):
    result = client.simulate_post("/nodes", body=b"x" * (64 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert_problem(result, 413)
    # At the limit it is not refused for its size: it is read, and refused for what it is (no nodes:write).
    assert client.simulate_post("/nodes", body=b"x" * (64 * 1024)).status_code == 403


def test_malformed_accept_does_not_break_the_service(client):
    for accept in ["", ";;;", "text/plain;q=abc", "*/*;q=0", "text/plain;q=2", "\x7f"]:
        result = client.simulate_get("/nodes", headers={"Accept": accept})
        assert result.status_code < 500, accept


def test_an_unreachable_database_is_503_with_retry_after(other_app, token, clock):
    from config import Config
    from tests.data import JWT_SECRET

    # Nothing listens on port 1: the connection is refused at once.
    client = other_app(Config(database_url="postgresql://postgres@127.0.0.1:1/none", retry_after=7,
                              jwt_secret=JWT_SECRET), clock=clock)
    result = client.simulate_get("/countries", headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(result, 503)
    assert result.headers["retry-after"] == "7"
    assert "database" in body["detail"]
    assert client.simulate_get("/nodes.txt").status_code == 503
    # /ping never touches the database.
    assert client.simulate_get("/ping").status_code == 200


def test_a_missing_token_is_401_before_an_unacceptable_accept_is_406(anonymous):
    result = anonymous.simulate_get("/regions", headers={"Accept": "text/plain"})
    assert result.status_code == 401 and result.headers["www-authenticate"].startswith("Bearer")
