"""The ceiling: a minimal WSGI app answering a constant body, run under the very same gunicorn settings as
the service. A scenario's ratio to it is what the framework, the database and our code cost on top of the
server itself.

    gunicorn --config gunicorn.conf.py bench.ceiling:app     then GET /?bytes=16411&status=200

The body's size and the status come in the query string, so one ceiling server serves every scenario and
its runs can be interleaved with the service's; bodies are made once per size.
"""
from functools import cache
from urllib.parse import parse_qs

STATUSES = {"200": "200 OK", "304": "304 Not Modified"}


@cache
def answer(query: str):
    params = parse_qs(query)
    status = STATUSES[params.get("status", ["200"])[0]]
    if status.startswith("304"):
        return status, [("ETag", '"1"')], b""
    body = b"x" * int(params.get("bytes", ["0"])[0])
    return status, [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))], body


def app(environ, start_response):
    status, headers, body = answer(environ.get("QUERY_STRING", ""))
    start_response(status, headers)
    return [body]
