"""Falcon's own floor for a 304 poll: a bare falcon.App answering 304 with the five headers the service sends
on one (ETag, Last-Modified, Cache-Control, X-Request-ID, X-Content-Type-Options), nothing else. Run beside the
ceiling and the service to split a poll's cost between the framework and the service's own code:

    PORT=8105 gunicorn --config gunicorn.conf.py bench.floor:app
    wrk -t2 -c32 -d3s http://127.0.0.1:8105/nodes.txt
"""
import falcon

HEADERS = {"ETag": '"4ed914744c8f7c9b5f93223f"', "Last-Modified": "Sat, 28 Nov 2026 16:22:37 GMT",
           "Cache-Control": "no-cache", "X-Request-ID": "48e483aba29b3478b94143d8804f8bb9",
           "X-Content-Type-Options": "nosniff"}


class NotModified:
    def on_get(self, req, resp):
        resp.set_headers(HEADERS)
        resp.status = falcon.HTTP_NOT_MODIFIED


app = falcon.App()
app.add_route("/nodes.txt", NotModified())
