"""Shared caches (contract §13): what Cache-Control says, and a real nginx proxy_cache (deploy/nginx.conf, no
header overrides) in front of gunicorn answering polls itself and serving the list while the service is down."""
import time
import urllib.error

import pytest

from config import Config
from resources.caching import CachePolicy
from tests.live_server import NGINX, get, nginx_in_front, procfile_env, serve

PUBLIC = "public, max-age=0, s-maxage=1, stale-while-revalidate=1, stale-if-error=86400"


@pytest.mark.parametrize("path", ["/nodes", "/nodes.txt", "/nodes/{node}", "/openapi.json", "/openapi.yaml",
                                  "/docs", "/docs/static/swagger-ui.css"])
def test_anonymous_reads_may_be_kept_by_shared_caches(anonymous, nodes, path):
    result = anonymous.simulate_get(path.format(node=nodes[0].id))
    assert result.status_code == 200 and result.headers["cache-control"] == PUBLIC


def test_what_needed_a_token_is_private_and_auth_is_never_stored(client, nodes):
    for path in ("/countries", "/regions/154", "/cities?country=GB"):
        assert client.simulate_get(path).headers["cache-control"] == "private, no-cache"
    assert client.simulate_get("/ping").headers["cache-control"] == "no-store"
    assert client.simulate_post("/auth", json={"username": "nobody", "password": "x"}
                                ).headers["cache-control"] == "no-store"


def test_the_policy_follows_the_settings():
    assert CachePolicy.of(30, 600).public == \
        "public, max-age=0, s-maxage=30, stale-while-revalidate=30, stale-if-error=600"
    assert CachePolicy.of(0, 600).public == "public, no-cache, stale-if-error=600"
    assert CachePolicy.of(0, 0).public == "public, no-cache"
    assert Config.from_env({"SHARED_CACHE_SECONDS": "5"}).shared_cache_seconds == 5


def poll(url: str, tag: str):
    try:
        status, headers, body = get(url, {"If-None-Match": tag})
        return status, headers, body
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, b""


@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="no nginx")
def test_nginx_answers_almost_every_poll_itself_and_keeps_serving_the_list_when_the_service_is_down(
        config, nodes, tmp_path):
    env = procfile_env(config.database_url, workers=2, HOST="127.0.0.1", TRUSTED_PROXY_HOPS="1")
    with nginx_in_front(tmp_path, int(env["PORT"])) as front:
        with serve(env) as (_, server):
            status, headers, listed = get(f"{front}/nodes.txt")
            assert status == 200 and listed
            tag = headers["ETag"]
            started = time.monotonic()
            answers = []
            while time.monotonic() - started < 3.5:  # as fast as one client polls, past several s-maxage
                answers.append(poll(f"{front}/nodes.txt", tag)[0])
            polled_for = time.monotonic() - started
        assert set(answers) == {304}
        reached = server.output.count('"path":"/nodes.txt"')
        # The first fetch, then about one refresh a second (s-maxage=1; a conditional request, answered 304).
        print(f"\n{reached} of {len(answers) + 1} requests reached the service in {polled_for:.1f} s")
        assert len(answers) > 500 and reached <= 2 + 2 * polled_for, (reached, polled_for)
        # The service is gone: the cache serves the list it holds, stale (stale-if-error).
        time.sleep(2.5)  # past s-maxage and stale-while-revalidate: nginx asks the service, which is not there
        for _ in range(3):
            status, headers, body = get(f"{front}/nodes.txt")
            assert status == 200 and body == listed and headers["X-Cache"] == "STALE"
            time.sleep(0.5)
