"""The engine of an application and its per-request session."""

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from rbac.db import make_engine


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory; close the session after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["rolecall.engine"] = engine
    app.extensions["rolecall.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
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


def close_session(exception: BaseException | None = None) -> None:
    """Close the request's session; anything it did not commit is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
