"""Prometheus metrics, summed over every worker of an instance with prometheus_client's multiprocess mode.

Under gunicorn, gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh folder before any worker is
forked: each worker writes its values to memory-mapped files there, and a scrape, answered by any worker,
reads them all. Elsewhere (tests, tools) the values live in this process.

Recording is on only when METRICS_TOKEN is set (`Metrics.enabled`); otherwise the recorders are no-ops, so a
service without metrics pays nothing for them. Labels take bounded values only: a route template (not a
path), a known method, a status code, a cache's name.
"""
from __future__ import annotations

import os
import re
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

disable_created_metrics()  # no `_created` series beside every counter: Prometheus does not need them
PREFIX = "perfops"
METHODS = frozenset({"GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS", "PUT"})
# From a replayed 304 (about 0.1 ms) to a large list built from the database (seconds).
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CACHES = ("responses", "replayed_304", "gzip_bodies")
# Collected in this process when not under gunicorn's multiprocess mode (never the global default registry,
# so that building several apps in one process registers nothing twice).
LOCAL = CollectorRegistry()

REQUESTS = Counter(f"{PREFIX}_http_requests", "Requests answered, by route template, method and status.",
                   ["route", "method", "status"], registry=LOCAL)
DURATION = Histogram(f"{PREFIX}_http_request_duration_seconds",
                     "Time from the request reaching the application to its response being ready.",
                     ["route", "method"], buckets=DURATION_BUCKETS, registry=LOCAL)
DATA_VERSION = Gauge(f"{PREFIX}_read_model_data_version", "The data version each worker's read model serves.",
                     multiprocess_mode="liveall", registry=LOCAL)
CONFIRMED_NAME = f"{PREFIX}_read_model_confirmed_timestamp_seconds"
CONFIRMED = Gauge(CONFIRMED_NAME,
                  "When each worker last knew its read model current (Unix time).",
                  multiprocess_mode="liveall", registry=LOCAL)
DATABASE_ERRORS = Counter(f"{PREFIX}_database_errors", "Database failures: a request answered 503, or a read "
                          "model refresh that failed.", ["during"], registry=LOCAL)
CACHE_HITS = Counter(f"{PREFIX}_cache_hits", "Answers or bodies taken from a per-worker cache.", ["cache"],
                     registry=LOCAL)
CACHE_MISSES = Counter(f"{PREFIX}_cache_misses", "Lookups in a per-worker cache that found nothing usable.",
                       ["cache"], registry=LOCAL)
AGE = f"{PREFIX}_read_model_age_seconds"
CONVERTER = re.compile(r"\{(\w+):[^}]*\}")  # "/nodes/{node:node_id}" is reported as "/nodes/{node}"


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class CacheCounter:
    """Hits and misses of one cache."""

    def __init__(self, cache: str):
        self.hit = CACHE_HITS.labels(cache).inc
        self.miss = CACHE_MISSES.labels(cache).inc


class NoCounter:
    def hit(self) -> None:
        pass

    def miss(self) -> None:
        pass


class Metrics:
    """The recorders the service calls; with `enabled` False each one does nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._requests: dict[tuple, tuple] = {}  # (route, method, status) -> (counter.inc, histogram.observe)

    def cache(self, name: str) -> CacheCounter | NoCounter:
        assert name in CACHES
        return CacheCounter(name) if self.enabled else NoCounter()

    def request(self, route: str | None, method: str, status: int, seconds: float) -> None:
        if not self.enabled:
            return
        key = (route, method, status)
        recorders = self._requests.get(key)
        if recorders is None:  # labelled children are looked up once per combination, not per request
            label_method = method if method in METHODS else "other"
            label_route = CONVERTER.sub(r"{\1}", route) if route else "unmatched"
            recorders = self._requests[key] = (REQUESTS.labels(label_route, label_method, str(status)).inc,
                                               DURATION.labels(label_route, label_method).observe)
        recorders[0]()
        recorders[1](seconds)

    def database_error(self, during: str) -> None:
        if self.enabled:
            DATABASE_ERRORS.labels(during).inc()

    def snapshot(self, data_version: int) -> None:
        """A worker's read model is current at `data_version`, now."""
        if self.enabled:
            DATA_VERSION.set(data_version)
            CONFIRMED.set(time.time())


def exposition() -> bytes:
    """Every worker's metrics in Prometheus's text format, with each worker's read model age worked out now
    from when it was last confirmed (a gauge a worker would have to rewrite continuously otherwise)."""
    if multiprocess():
        source = CollectorRegistry()
        MultiProcessCollector(source)
    else:
        source = LOCAL
    families = list(source.collect())
    now = time.time()
    ages = None
    for family in families:
        if family.name == CONFIRMED_NAME:
            ages = GaugeMetricFamily(AGE, "Seconds since each worker last knew its read model current.",
                                     labels=["pid"])
            for sample in family.samples:
                ages.add_metric([sample.labels.get("pid", str(os.getpid()))], max(0.0, now - sample.value))
    return generate_latest(_Collected(families + ([ages] if ages is not None else [])))


class _Collected:
    """Families already collected, in the shape generate_latest asks for."""

    def __init__(self, families: list):
        self.families = families

    def collect(self):
        return iter(self.families)
