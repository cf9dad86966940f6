"""Wires the PerfOps Core API together; `app` is what gunicorn serves."""
from datetime import datetime, timezone

import falcon

from config import Config
from config.logs import AccessLog
from models import connect_database, releases_per_request
from resources.auth import Login, Refresh
from resources.cache import DataVersion, ResponseCache
from resources.docs import SWAGGER_UI_ASSETS, DocsPage, OpenApiDocument
from resources.errors import install_error_handlers
from resources.health import Health
from resources.hooks import Authentication
from resources.locations import CityCollection, CityItem, CountryCollection, CountryItem, RegionCollection, RegionItem
from resources.media import ContentNegotiation, install_media_handlers
from resources.middleware import DatabaseSession, RequestBodyLimit, RequestContext
from resources.nodes import NodeCollection, NodeItem, NodeTextList
from resources.paths import IdConverter
from resources.ping import Ping
from security.tokens import TokenService


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(config: Config | None = None, *, db=None, clock=utc_now) -> falcon.App:
    """`db` (a peewee Database) overrides the one DATABASE_URL names; `clock` returns an aware datetime."""
    config = config or Config.from_env()
    connect_database(config, db)
    tokens = TokenService(config, clock)
    cache = ResponseCache(config.response_cache_bytes, DataVersion(config.data_freshness))
    middleware = [RequestContext(config.trusted_proxy_hops, cache, AccessLog() if config.access_log else None)]
    if config.cors_origins:
        middleware.append(falcon.CORSMiddleware(
            allow_origins="*" if "*" in config.cors_origins else list(config.cors_origins),
            expose_headers=["ETag", "X-Request-ID", "Retry-After", "WWW-Authenticate"],
        ))
    middleware.append(RequestBodyLimit(config.max_body_bytes))
    if releases_per_request():  # only pooled connections go back after each request
        middleware.append(DatabaseSession())
    middleware += [Authentication(tokens), ContentNegotiation()]
    app = falcon.App(middleware=middleware)
    install_media_handlers(app)
    install_error_handlers(app, config.retry_after)
    app.router_options.converters["id"] = IdConverter

    app.add_route("/ping", Ping(config, clock))
    app.add_route("/health", Health())
    app.add_route("/auth", Login(config, tokens))
    app.add_route("/auth/refresh", Refresh(config, tokens))
    app.add_route("/regions", RegionCollection())
    app.add_route("/regions/{region:id}", RegionItem())
    app.add_route("/countries", CountryCollection())
    app.add_route("/countries/{country}", CountryItem())
    app.add_route("/cities", CityCollection())
    app.add_route("/cities/{city:id}", CityItem())
    app.add_route("/nodes", NodeCollection())
    app.add_route("/nodes.txt", NodeTextList())
    app.add_route("/nodes/{node:id}", NodeItem())

    document = OpenApiDocument()
    app.add_route("/openapi.json", document, suffix="json")
    app.add_route("/openapi.yaml", document, suffix="yaml")
    app.add_route("/docs", DocsPage())
    app.add_static_route("/docs/static", SWAGGER_UI_ASSETS)
    return app


app = create_app()
