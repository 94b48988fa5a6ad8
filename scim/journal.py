"""Journal every authenticated SCIM request: timing, status, tolerances fired, error detail.

Writes and failures get a line each, written apart from the request's transaction. A read
that succeeds is only counted, in memory, per directory, minute and route; each process adds
its counts to the database when READ_COUNTS_FLUSH_SECONDS have passed since it last did (the
read that finds them due writes them) and when it exits. So serving a read writes
nothing, and support still sees that, and how often, an IdP polls. With a rate limit on, reads
are journaled too: the limit counts journal lines, shared by every worker.
"""

import atexit
import re
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import current_app, g, request
from sqlalchemy.engine import Engine

from rbac.db import utcnow
from rbac.journal import add_read_counts, prune_journal, record_request
from rbac.tenancy import API_KEY_PREFIX, TOKEN_PREFIX
from rbac.webhooks import SECRET_PREFIX
from web.correlation import correlation_id
from web.db import get_engine, get_session

# A route's parameters, <user_id> or <string:name>, written {user_id} in read counts.
_PARAMETER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
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
    """Write the journal line of a request whose token named a directory (count a read)."""
    directory_id = g.get("directory_id")  # kept apart: a rollback expires the directory row
    if directory_id is None:
        return response
    if response.status_code >= 400 or request.method != "GET":
        # The request's transaction ends before its line is written on another connection: a
        # failed request leaves nothing but that line, and a change that changed nothing (a
        # PATCH removing an absent attribute) stops holding its row, which on SQLite holds
        # the database's one write lock that the line's INSERT would wait 30 s for.
        get_session().rollback()
    config = current_app.config
    duration_ms = round((time.perf_counter() - g.started_at) * 1000, 3)
    if _successful_read(response) and not config["SCIM_RATE_LIMIT_PER_MINUTE"]:
        counter = _read_counter()
        if counter.count(directory_id, _route(), duration_ms):
            counter.flush()  # about once a minute per process
        return response
    engine = get_engine()
    entry_id = record_request(
        engine,
        directory_id=directory_id,
        correlation_id=g.correlation_id,
        method=request.method,
        path=_journal_path(),
        status=response.status_code,
        duration_ms=duration_ms,
        tolerances=list(g.tolerances),
        error_detail=_without_secrets(g.get("error_detail")),
    )
    if entry_id % PRUNE_EVERY == 0:
        response.call_on_close(
            lambda: prune_journal(
                engine,
                directory_id,
                max_rows=config["JOURNAL_MAX_ROWS"],
                max_age=timedelta(days=config["JOURNAL_MAX_AGE_DAYS"]),
            )
        )
    return response


def _journal_path() -> str:
    """The request's path and query, with every secret in them redacted.

    RFC 6750 §2.3 lets a client put its bearer token in the query string; Rolecall does not
    accept it there, but a client that sends it anyway, in `access_token` or in any other
    parameter or in the path, must not find it in the journal, which viewer keys read.
    """
    full_path = request.full_path.rstrip("?")
    if "access_token" not in full_path.lower() and not _SECRET.search(full_path):
        return full_path
    query = [
        (name, "[redacted]" if name.lower() == "access_token" else _SECRET.sub(_REDACTED, value))
        for name, value in request.args.items(multi=True)
    ]
    path = _SECRET.sub(_REDACTED, request.path)
    return path + "?" + urlencode(query) if query else path


def _without_secrets(detail: str | None) -> str | None:
    """An error's detail with any secret it quotes (an id that was a token) redacted."""
    return _SECRET.sub(_REDACTED, detail) if detail else detail


# What Rolecall's secrets begin with: SCIM tokens, API keys, webhook secrets.
_SECRET = re.compile(
    "(?:" + "|".join(map(re.escape, (TOKEN_PREFIX, API_KEY_PREFIX, SECRET_PREFIX))) + r")[^&/?#]*"
)
_REDACTED = "[redacted]"


class ReadCounter:
    """Successful reads counted in this process, added to the database now and then."""

    def __init__(self, engine: Engine, flush_seconds: float, max_age: timedelta):
        self.engine, self.flush_seconds, self.max_age = engine, flush_seconds, max_age
        self.lock = threading.Lock()
        self.pending: dict[tuple[int, datetime, str], list] = {}
        self.flushed_at = time.monotonic()
        atexit.register(self.flush)

    def count(self, directory_id: int, route: str, duration_ms: float) -> bool:
        """Count one read; return whether the counts are due to be written."""
        minute = utcnow().replace(second=0, microsecond=0)
        with self.lock:
            counted = self.pending.setdefault((directory_id, minute, route), [0, 0.0])
            counted[0] += 1
            counted[1] += duration_ms
            return time.monotonic() - self.flushed_at >= self.flush_seconds

    def flush(self) -> None:
        """Add the counts to the database."""
        with self.lock:
            pending, self.pending = self.pending, {}
            self.flushed_at = time.monotonic()
        add_read_counts(self.engine, pending, self.max_age)


def _read_counter() -> ReadCounter:
    extensions = current_app.extensions
    if "rolecall.read_counter" not in extensions:
        config = current_app.config
        extensions["rolecall.read_counter"] = ReadCounter(
            get_engine(),
            config["READ_COUNTS_FLUSH_SECONDS"],
            timedelta(days=config["JOURNAL_MAX_AGE_DAYS"]),
        )
    return extensions["rolecall.read_counter"]


def _successful_read(response) -> bool:
    if response.status_code >= 400:
        return False
    return request.method in ("GET", "HEAD") or request.path.endswith("/.search")


def _route() -> str:
    """The request's method and route, e.g. GET /Users/{user_id}."""
    rule = request.url_rule.rule.removeprefix("/scim/v2")
    return request.method + " " + _PARAMETER.sub(r"{\1}", rule)
