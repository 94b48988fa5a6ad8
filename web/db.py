"""The engine of an application and its per-request session."""

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from rbac.db import make_engine


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory; close the session after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["rolecall.engine"] = engine
    app.extensions["rolecall.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    # Requests that only read need no transaction: on PostgreSQL each statement is then its
    # own, which halves a check's cost (no BEGIN, no ROLLBACK; docs/performance.md). SQLite's
    # transactions cost nothing to open, and switching its connection's mode costs more.
    reads = engine
    if engine.dialect.name == "postgresql":
        reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    app.extensions["rolecall.read_sessionmaker"] = sessionmaker(reads, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def get_engine():
    """Return the current app's engine."""
    return current_app.extensions["rolecall.engine"]


def get_catalog():
    """Return the current app's role catalog."""
    return current_app.extensions["rolecall.catalog"]


def get_session() -> Session:
    """Return the session of the current request (or CLI command), opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["rolecall.sessionmaker"]()
    return g.db_session


def use_read_session() -> Session:
    """Give this request a session without a transaction; only for requests that only read.

    Each statement commits on its own (a statement reads one consistent snapshot; two
    statements may not see the same one). Call it before anything opens the session.
    """
    if "db_session" not in g:
        g.db_session = current_app.extensions["rolecall.read_sessionmaker"]()
    return g.db_session


def close_session(exception: BaseException | None = None) -> None:
    """Close the request's session; anything it did not commit is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
