"""Wires the PerfOps Core API together. `create_app` builds it; wsgi.py holds the one gunicorn serves."""
from __future__ import annotations

from datetime import datetime, timezone

import falcon

from config import Config
from models import connect_database, releases_per_request
from models.data_version import VersionAhead
from observability.logs import AccessLog
from observability.metrics import Metrics
from readmodel.store import ReadModel
from resources.auth import Login, Refresh
from resources.cache import ResponseCache
from resources.caching import CachePolicy
from resources.changes import NodeChanges
from resources.coding import CodedBodies
from resources.consistency import version_ahead
from resources.docs import DocsAssets, DocsPage, OpenApiDocument
from resources.errors import install_error_handlers
from resources.health import Health
from resources.locations import CITIES, COUNTRIES, REGIONS, CityCollection, CityItem, CountryCollection, \
    CountryItem, RegionCollection, RegionItem
from resources.media import install_media_handlers
from resources.metrics import MetricsText
from resources.middleware import DatabaseSession, RequestBodyLimit, RequestContext, RequireHost, VaryOnOrigin
from resources.nodes import NODES, NodeCollection, NodeItem, NodeTextList
from resources.paths import IdConverter, NodeIdConverter
from resources.ping import Ping
from resources.representations import Representations
from resources.revalidations import ReplayingApp
from security.tokens import TokenService

LISTS = {spec.name: spec for spec in (REGIONS, COUNTRIES, CITIES, NODES)}


def utc_clock() -> datetime:
    return datetime.now(timezone.utc)


def make_read_model(config: Config) -> ReadModel | None:
    return ReadModel(LISTS, config.data_freshness, metrics=metrics_of(config)) if config.read_model else None


def metrics_of(config: Config) -> Metrics:
    return Metrics(enabled=config.metrics_token is not None)


def create_app(config: Config | None = None, *, db=None, clock=utc_clock, read_model="from config") -> falcon.App:
    """`db` (a peewee Database) overrides the one DATABASE_URL names; `clock` returns an aware datetime;
    `read_model` (a ReadModel, or None for none) overrides the one the configuration asks for."""
    config = config or Config.from_env()
    connect_database(config, db)
    tokens = TokenService(config, clock)
    if read_model == "from config":
        read_model = make_read_model(config)
    policy = CachePolicy.of(config.shared_cache_seconds, config.stale_if_error_seconds)
    metrics = metrics_of(config)
    representations = Representations(read_model,
                                      ResponseCache(config.response_cache_bytes, metrics.cache("responses")),
                                      CodedBodies(config.coded_cache_bytes, metrics.cache("gzip_bodies")), policy)

    request_context = RequestContext(config.trusted_proxy_hops, AccessLog() if config.access_log else None,
                                     metrics)
    middleware = [request_context]
    if config.cors_origins:
        middleware.append(falcon.CORSMiddleware(
            allow_origins="*" if "*" in config.cors_origins else list(config.cors_origins),
            expose_headers=["ETag", "Last-Modified", "X-Request-ID", "Retry-After", "WWW-Authenticate"],
        ))
        middleware.append(VaryOnOrigin())
    middleware.append(RequireHost())
    middleware.append(RequestBodyLimit(config.max_body_bytes))
    if releases_per_request():  # only pooled connections go back after each request
        middleware.append(DatabaseSession())
    app = ReplayingApp(read_model, request_context, metrics.cache("replayed_304"), middleware=middleware)
    install_media_handlers(app)
    install_error_handlers(app, config.retry_after, metrics)
    app.add_error_handler(VersionAhead, version_ahead)
    app.router_options.converters["id"] = IdConverter
    app.router_options.converters["node_id"] = NodeIdConverter

    app.add_route("/ping", Ping(config, clock, tokens))
    app.add_route("/health", Health(config.retry_after))
    app.add_route("/auth", Login(config, tokens))
    app.add_route("/auth/refresh", Refresh(config, tokens))
    app.add_route("/regions", RegionCollection(representations, tokens))
    app.add_route("/regions/{region:id}", RegionItem(representations, tokens))
    app.add_route("/countries", CountryCollection(representations, tokens))
    app.add_route("/countries/{country}", CountryItem(representations, tokens))
    app.add_route("/cities", CityCollection(representations, tokens))
    app.add_route("/cities/{city:id}", CityItem(representations, tokens))
    app.add_route("/nodes", NodeCollection(representations, tokens))
    app.add_route("/nodes.txt", NodeTextList(representations))
    app.add_route("/nodes/changes", NodeChanges(representations, NODES.filters))
    app.add_route("/nodes/{node:node_id}", NodeItem(representations, tokens))

    if config.metrics_token is not None:
        app.add_route("/metrics", MetricsText(config.metrics_token))

    document = OpenApiDocument(policy)
    app.add_route("/openapi.json", document, suffix="json")
    app.add_route("/openapi.yaml", document, suffix="yaml")
    app.add_route("/docs", DocsPage(policy))
    app.add_route("/docs/static/{name}", DocsAssets(policy))
    return app
