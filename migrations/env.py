"""Alembic environment: runs on the connection it is handed, or on DATABASE_URL.

Without DATABASE_URL, the database is the app's default: the SQLite file in the instance
folder (web/instance.py), found without building the app.
"""

import os

from alembic import context
from sqlalchemy import pool

import rbac.models  # noqa: F401  (registers every table on Base.metadata)
from rbac.db import Base, make_engine
from web.instance import default_database_url, instance_path

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return os.environ.get("DATABASE_URL") or default_database_url(instance_path())


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run them on a database")
run_migrations_online()
