"""Journal every authenticated SCIM request: timing, status, tolerances fired, error detail."""

import time
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app, g, request

from app.db import get_engine, get_session
from app.observability import correlation_id
from rbac.journal import prune_journal, record_request

# One request in this many prunes its directory's journal, after the response is sent.
PRUNE_EVERY = 200


def init_journal(bp) -> None:
    """Hook the journal into a blueprint (before its authentication hook runs)."""
    bp.before_request(start_request)
    bp.after_request(journal_request)


def start_request():
    """Note when the request started and its correlation id."""
    g.started_at = time.perf_counter()
    correlation_id()
    g.tolerances = []


def note_tolerance(name: str) -> None:
    """Record that an IdP tolerance fired on this request."""
    if name not in g.tolerances:
        g.tolerances.append(name)


def journal_request(response):
    """Write the journal line of a request whose token named a directory."""
    directory = g.get("directory")
    if directory is None:
        return response
    if response.status_code >= 400:
        # A failed request leaves nothing but its journal line.
        get_session().rollback()
    engine = get_engine()
    entry_id = record_request(
        engine,
        directory_id=directory.id,
        correlation_id=g.correlation_id,
        method=request.method,
        path=_journal_path(),
        status=response.status_code,
        duration_ms=round((time.perf_counter() - g.started_at) * 1000, 3),
        tolerances=list(g.tolerances),
        error_detail=g.get("error_detail"),
    )
    if entry_id % PRUNE_EVERY == 0:
        config = current_app.config
        response.call_on_close(
            lambda: prune_journal(
                engine,
                directory.id,
                max_rows=config["JOURNAL_MAX_ROWS"],
                max_age=timedelta(days=config["JOURNAL_MAX_AGE_DAYS"]),
            )
        )
    return response


def _journal_path() -> str:
    """The request's path and query, with an access_token parameter's value redacted.

    RFC 6750 §2.3 lets a client put its bearer token in the query string; Rolecall does not
    accept it there, but a client that sends it anyway must not find it in the journal.
    """
    if "access_token" not in request.query_string.decode("latin-1").lower():
        return request.full_path.rstrip("?")
    query = [
        (name, "[redacted]" if name.lower() == "access_token" else value)
        for name, value in request.args.items(multi=True)
    ]
    return request.path + "?" + urlencode(query)
