"""gunicorn settings for the Procfile's `web` process; HOST, PORT and WEB_CONCURRENCY come from config."""
import gc
import glob
import importlib
import os
import shutil
import sys
import tempfile
import time

from config import Config, ConfigError
from observability.logs import LOGGING, lighten_logging, startup_failed
from readmodel.heap import tune_malloc
# Imported by every worker (after PROMETHEUS_MULTIPROC_DIR is set below: prometheus_client reads it once).
PRELOADED = ("numpy", "falcon", "peewee", "playhouse.pool", "marshmallow", "psycopg2", "jwt", "pyotp", "orjson",
             "argon2", "segno", "yaml", "prometheus_client", "isal.isal_zlib")
# Maps the instance's data version counter here, in the master, so that every worker forked from it shares
# it: a write answered by one worker is read by the next request on any other (contract §12).
import readmodel.instance_version  # noqa: F401,E402

try:
    _config = Config.from_env()
except ConfigError as _error:
    # One JSON line, like every other line the service writes, and exit 1 (not gunicorn's traceback).
    startup_failed(_error)

# /metrics (METRICS_TOKEN set): every worker writes its metrics to files in one folder that any worker's scrape
# reads (prometheus_client's multiprocess mode). Set before any worker is forked, and before anything imports
# prometheus_client, which reads it once; emptied at start (an operator's own folder may hold a previous run's).
_metrics_folder_made = None
if _config.metrics_token is not None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        for _stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
            os.remove(_stale)
    else:
        _metrics_folder_made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="perfops-metrics-")

# The libraries every worker uses, imported once here in the master: the workers forked from it share their
# pages (copy-on-write) instead of each loading its own, and gc.freeze() keeps the collector from writing to
# them. The app itself is not imported here, so a reload (HUP) still loads its code anew.
for _library in PRELOADED:
    importlib.import_module(_library)
gc.freeze()

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
    """A worker replacing another (recycled, killed, a reload) serves once its read model is built, so the
    workers already serving take the traffic meanwhile instead of it being answered slowly from the database;
    it tells the arbiter it is alive. On a fresh start no worker serves yet: each serves at once, from the
    database until its read model is built (contract §14: an instance answers within 2 s of binding)."""
    read_model = getattr(sys.modules.get("wsgi"), "read_model", None)
    if read_model is None:
        return
    read_model.start()
    if not read_model.instance.serving_from_memory:
        return
    deadline = time.monotonic() + WARM_UP_SECONDS
    while not read_model.wait_until_built(timeout=1.0) and not read_model.failing and time.monotonic() < deadline:
        worker.notify()


def child_exit(server, worker):
    """A worker that is gone no longer reports its read model (the gauges kept per live worker)."""
    if _config.metrics_token is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_folder_made is not None:
        shutil.rmtree(_metrics_folder_made, ignore_errors=True)
