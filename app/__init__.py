"""Flask composition root: create_app builds the whole application."""

import os

from flask import Flask

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
    )
    if config:
        app.config.from_mapping(config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = default_database_url(app.instance_path)

    from rbac.catalog import load_catalog
    from web import db, request_body, security_headers

    db.init_app(app)
    request_body.init_app(app)
    security_headers.init_app(app)
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
