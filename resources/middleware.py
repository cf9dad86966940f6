"""Request-scoped plumbing: the database connection and the request body limit."""
import falcon

from models import database, releases_per_request


class DatabaseSession:
    """Connections open lazily on the first query (so /ping never touches the database).

    A pooled PostgreSQL connection goes back to the pool when the response is ready; a SQLite
    connection stays with its worker thread.
    """

    def __init__(self):
        self.release = releases_per_request()

    def process_response(self, req, resp, resource, req_succeeded):
        if self.release and not database.is_closed():
            database.close()


class RequestBodyLimit:
    """Refuses a body over the limit from its Content-Length, before anything reads it."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process_request(self, req, resp):
        length = req.content_length
        if length is not None and length > self.max_bytes:
            raise falcon.HTTPContentTooLarge(
                description=f"Request bodies are limited to {self.max_bytes} bytes; this one has {length}."
            )
