"""Flask composition root: create_app builds the whole application."""

import os
import tempfile

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from web.instance import default_database_url, instance_path


def create_app(config: dict | None = None) -> Flask:
    """Build the Rolecall application; config overrides the environment and defaults."""
    # ROLECALL_INSTANCE_PATH moves the instance folder (and its default SQLite file).
    app = Flask(__name__, instance_path=instance_path(), instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        ROLECALL_CATALOG=os.environ.get("ROLECALL_CATALOG"),
        SCIM_MAX_PAGE_SIZE=1000,
        SCIM_DEFAULT_PAGE_SIZE=100,
        # 1 MiB: far above a 1 000-member PATCH, far below anything that hurts the server.
        MAX_CONTENT_LENGTH=1024 * 1024,
        # The request journal keeps, per directory, at most this many lines and days.
        JOURNAL_MAX_ROWS=10_000,
        JOURNAL_MAX_AGE_DAYS=30,
        # Successful reads are counted in memory and added to the database this often.
        READ_COUNTS_FLUSH_SECONDS=60,
        # Requests a directory may send per minute before 429 + Retry-After; 0 turns it off.
        SCIM_RATE_LIMIT_PER_MINUTE=int(os.environ.get("ROLECALL_SCIM_RATE_LIMIT") or 0),
        # The URL IdPs and clients reach the app at; every absolute URL is built on it.
        PUBLIC_BASE_URL=os.environ.get("ROLECALL_PUBLIC_URL") or None,
        # Password hashes at once per host (half its cores: the rest serve SCIM), and the
        # folder of their slots, shared by the host's workers.
        LOGIN_HASH_SLOTS=int(
            os.environ.get("ROLECALL_LOGIN_HASH_SLOTS") or max(1, (os.cpu_count() or 2) // 2)
        ),
        LOGIN_HASH_SLOTS_DIR=os.environ.get("ROLECALL_LOGIN_HASH_SLOTS_DIR")
        or os.path.join(tempfile.gettempdir(), f"rolecall-hash-slots-{os.getuid()}"),
        # How many proxies in front set X-Forwarded-For (0: none; the client is the peer).
        TRUSTED_PROXIES=int(os.environ.get("ROLECALL_TRUSTED_PROXIES") or 0),
    )
    if config:
        app.config.from_mapping(config)
    if app.config["TRUSTED_PROXIES"]:
        # Sign-in limits count by client address: behind proxies, the one they forwarded.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = default_database_url(app.instance_path)

    from rbac.catalog import load_catalog
    from rbac.hash_slots import HashSlots
    from web import db, request_body, security_headers

    db.init_app(app)
    request_body.init_app(app)
    security_headers.init_app(app)
    # Password hashes computed at once on this host, by all its workers (rbac.hash_slots).
    app.extensions["rolecall.hash_slots"] = HashSlots(
        app.config["LOGIN_HASH_SLOTS_DIR"], app.config["LOGIN_HASH_SLOTS"]
    )
    # The role catalog is data (rbac/catalog.json); ROLECALL_CATALOG points at another file.
    app.extensions["rolecall.catalog"] = load_catalog(app.config.get("ROLECALL_CATALOG"))

    from scim import views as scim_views

    app.register_blueprint(scim_views.bp)

    from app import api

    api.init_app(app)

    from app import admin, observability

    admin.init_app(app)
    observability.init_app(app)
    return app
