"""gunicorn settings for the Procfile's `web` process; PORT and WEB_CONCURRENCY come from config."""
from config import Config
from config.logs import LOGGING, lighten_logging

_config = Config.from_env()

bind = f"0.0.0.0:{_config.port}"
workers = _config.web_concurrency
worker_class = "sync"
# Under the platform router's 30 s limit, so a stuck request is ours to report, not the router's.
timeout = 25
graceful_timeout = 20
# Recycle workers now and then, staggered, so any slow leak stays bounded.
max_requests = 200000
max_requests_jitter = 20000
# JSON lines on stdout (the platform collects them): the app writes the access log itself, with the
# request id and the user; gunicorn's own messages go through the same formatter.
accesslog = None
logconfig_dict = LOGGING
lighten_logging()
