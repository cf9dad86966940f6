"""gunicorn settings for the Procfile's `web` process; HOST, PORT and WEB_CONCURRENCY come from config."""
import sys
import time

from config import Config
from config.logs import LOGGING, lighten_logging
from readmodel.heap import tune_malloc
# Maps the instance's data version counter here, in the master, so that every worker forked from it shares
# it: a write answered by one worker is read by the next request on any other (contract §12).
import readmodel.instance_version  # noqa: F401,E402

_config = Config.from_env()

bind = f"{_config.host}:{_config.port}"
workers = _config.web_concurrency
# gunicorn's sync worker, but the errors it finds in a request itself are problem+json (server/worker.py).
worker_class = "server.worker.ProblemSyncWorker"
# A request line of up to 8 KiB (gunicorn's maximum): a filter of 1000 seven-digit ids fits (contract §9).
limit_request_line = 8190
# No control socket (gunicorn 27 makes one at ~/.gunicorn/gunicorn.ctl by default, shared by every instance on
# the host: stopping one removed the socket the others used). Signals manage the server.
control_socket_disable = True
# Under the platform router's 30 s limit, so a stuck request is ours to report, not the router's.
timeout = 25
graceful_timeout = 20
# Recycle workers now and then, staggered, so any slow leak stays bounded; rarely, since a new worker reads
# all the data into its read model again.
max_requests = 1_000_000
max_requests_jitter = 100_000
# JSON lines on stdout (the platform collects them): the app writes the access log itself, with the
# request id and the user; gunicorn's own messages go through the same formatter.
accesslog = None
logger_class = "server.logger.ServerLogger"
logconfig_dict = LOGGING
lighten_logging()
# A worker's read model is built and merged by a thread of its own: keep its garbage returnable.
tune_malloc()
# How long a new worker may spend reading the data into memory before it serves anyway (from the database
# until its read model is there). It serves at once when the database cannot be read (503s, and /ping).
WARM_UP_SECONDS = 30


def post_worker_init(worker):
    """A new worker serves once its read model is built, so the workers already serving take the traffic
    meanwhile instead of it being answered slowly from the database; it tells the arbiter it is alive."""
    read_model = getattr(sys.modules.get("wsgi"), "read_model", None)
    if read_model is None:
        return
    deadline = time.monotonic() + WARM_UP_SECONDS
    while not read_model.wait_until_built(timeout=1.0) and not read_model.failing and time.monotonic() < deadline:
        worker.notify()
