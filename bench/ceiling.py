"""The ceiling: a minimal WSGI app answering a constant body of a given size, run under the very same
gunicorn settings as the service. A scenario's ratio to it is what the framework, the database and our
code cost on top of the server itself.

    CEILING_BYTES=1234 CEILING_STATUS=200 gunicorn --config gunicorn.conf.py bench.ceiling:app
"""
import os

BODY = b"x" * int(os.environ.get("CEILING_BYTES", "0"))
STATUS = {"200": "200 OK", "304": "304 Not Modified"}[os.environ.get("CEILING_STATUS", "200")]
HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    if STATUS.startswith("304"):
        start_response(STATUS, [("ETag", '"1"')])
        return [b""]
    start_response(STATUS, HEADERS)
    return [BODY]
