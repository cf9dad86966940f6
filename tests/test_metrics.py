"""GET /metrics (contract §14): off without METRICS_TOKEN, 401 without the token, and under gunicorn the sum
over every worker, read with prometheus_client's own parser."""
import urllib.request

import pytest

from app import create_app
from config import Config
from tests.data import JWT_SECRET
from tests.contract import ContractClient
from tests.live_server import procfile_env, scrape, serve, status_of, wait_for_read_models, wait_for_workers

TOKEN = "metrics-token-for-the-tests"


def total(found: dict, name: str, **labels) -> float:
    return sum(value for sample_labels, value in found.get(name, [])
               if all(sample_labels.get(key) == wanted for key, wanted in labels.items()))


def test_without_a_token_configured_there_is_no_metrics_endpoint(anonymous):
    assert anonymous.simulate_get("/metrics").status_code == 404


def test_metrics_need_the_token(db, read_model):
    config = Config(jwt_secret=JWT_SECRET, metrics_token=TOKEN, data_freshness=0.0)
    client = ContractClient(create_app(config, db=db, read_model=read_model))
    assert client.simulate_get("/metrics").status_code == 401
    assert client.simulate_get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = client.simulate_get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.slow
def test_metrics_are_summed_over_the_workers(config, nodes):
    env = procfile_env(config.database_url, workers=2, METRICS_TOKEN=TOKEN, JWT_SECRET=JWT_SECRET)
    with serve(env) as (base, server):
        workers = wait_for_workers(server.pid, 2)
        before = wait_for_read_models(base, 2, TOKEN)
        sent = {"/nodes.txt": 30, "/nodes/{node}": 20, "unmatched": 10}
        for _ in range(sent["/nodes.txt"]):
            assert status_of(f"{base}/nodes.txt") == 200
        for _ in range(sent["/nodes/{node}"]):
            assert status_of(f"{base}/nodes/{nodes[0].id}") == 200
        for _ in range(sent["unmatched"]):
            assert status_of(f"{base}/no/such/path") == 404
        # Polls with the tag: 304s, some answered again before the framework (replayed), all counted.
        tag = urllib.request.urlopen(f"{base}/nodes.txt", timeout=10).headers["ETag"]
        polls = [status_of(f"{base}/nodes.txt", headers={"If-None-Match": tag}) for _ in range(20)]
        assert polls == [304] * 20
        after = scrape(base, TOKEN)

    def counted(route, status):
        name = "perfops_http_requests_total"
        return total(after, name, route=route, status=status) - total(before, name, route=route, status=status)

    assert counted("/nodes.txt", "200") == sent["/nodes.txt"] + 1
    assert counted("/nodes/{node}", "200") == sent["/nodes/{node}"]
    assert counted("unmatched", "404") == sent["unmatched"]
    assert counted("/nodes.txt", "304") == 20
    histogram = "perfops_http_request_duration_seconds_count"
    assert (total(after, histogram, route="/nodes/{node}") - total(before, histogram, route="/nodes/{node}")
            == sent["/nodes/{node}"])
    # Each worker reports the data version it serves, and how long ago it knew it current.
    versions = after["perfops_read_model_data_version"]
    assert {labels["pid"] for labels, _ in versions} == {str(pid) for pid in workers}
    assert len({value for _, value in versions}) == 1
    assert {labels["pid"] for labels, _ in after["perfops_read_model_age_seconds"]} == {str(pid) for pid in workers}
    assert all(0 <= age < 60 for _, age in after["perfops_read_model_age_seconds"])
    hits = total(after, "perfops_cache_hits_total", cache="replayed_304") + total(
        after, "perfops_cache_hits_total", cache="responses")
    assert hits > 0
