"""What operators watch: /healthz, /readyz, /metrics, and one JSON log line per request.

- `/healthz`: the process answers. `/readyz`: the database answers and its schema is at the
  migrations' head (a host started before `rolecall db upgrade` is not ready); which
  revisions, and why not, only for the metrics token's bearer.
- `/metrics`: Prometheus text, behind `Authorization: Bearer $ROLECALL_METRICS_TOKEN` (off, a
  404, when the variable is unset). Request counts and latencies by route and status come from
  `prometheus_client`; with several gunicorn workers, PROMETHEUS_MULTIPROC_DIR makes them one
  set (`rolecall run` sets it). What the database knows is read at scrape time, so that every
  host reports the same: SCIM errors by directory (the journal keeps every failed request),
  webhook deliveries by result, their lag and the event backlog.
- Logs: the `rolecall` loggers write JSON lines (ROLECALL_LOG_FORMAT=text for plain text);
  each request logs its correlation id (X-Request-Id, or the IdP's own request id header),
  method, route, status and duration, and answers with X-Request-Id.
"""

import hmac
import json
import logging
import os
import sys
import threading
import time
from datetime import timedelta

from flask import Flask, abort, current_app, g, request
from sqlalchemy import func, select, text

from rbac.db import utcnow
from rbac.journal import escape_text
from web.correlation import correlation_id
from web.db import get_engine, get_session

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Metric labels come from closed sets, never from what a client sends: a made-up method is
# "other" and an unknown path "(unmatched)", so that no request adds a series (3 000 invented
# methods once took the page from 242 KB to 5.2 MB).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
request_log = logging.getLogger("rolecall.request")


def init_app(app: Flask) -> None:
    """Add the health, readiness and metrics routes and the per-request log and metrics."""
    configure_logging()
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/metrics", "metrics", metrics)


def healthz():
    """The process is up."""
    return {"status": "ok"}


def readyz():
    """Ready for traffic: the database answers and its schema is at the migrations' head.

    Anyone may ask; only the bearer of ROLECALL_METRICS_TOKEN is told the revisions and the
    database's error (a schema revision tells an attacker which release runs).
    """
    head = _migrations_head()
    try:
        with get_engine().connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as error:  # any failure to reach the database means not ready
        return _readiness("database", {"database": type(error).__name__})
    if current != head:
        return _readiness("migrations", {"migrations": {"database": current, "head": head}})
    return _readiness(None, {"migrations": head})


def _readiness(failing: str | None, detail: dict):
    answer = {"status": "ok"} if failing is None else {"status": "unavailable", "failing": failing}
    if _metrics_bearer():
        answer |= detail
    return answer, 200 if failing is None else 503


def _metrics_bearer() -> bool:
    """Whether the request bears ROLECALL_METRICS_TOKEN (never, when it is unset)."""
    token = os.environ.get("ROLECALL_METRICS_TOKEN", "")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return bool(token) and hmac.compare_digest(sent.encode(), token.encode())


def metrics():
    """Prometheus metrics, for a bearer of ROLECALL_METRICS_TOKEN (else as missing as any page)."""
    if not _metrics_bearer():
        abort(404)
    from prometheus_client import CONTENT_TYPE_LATEST

    body = _request_metrics() + _database_metrics()
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}


# Per request: the log line and the request metrics


def _start():
    g.request_started = time.perf_counter()
    correlation_id()


def _finish(response):
    elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
    response.headers["X-Request-Id"] = correlation_id()
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    if route not in ("/metrics", "/healthz", "/readyz"):
        method = request.method if request.method in KNOWN_METHODS else "other"
        _observe(method, route, response.status_code, elapsed)
    if request_log.isEnabledFor(logging.INFO):
        _log_request(
            {
                "correlation_id": g.correlation_id,
                "method": request.method,
                "route": route,
                "path": route if _path_holds_secret() else request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 3),
                "remote": request.remote_addr,
            }
        )
    return response


def path_holds_secret(view):
    """Mark a view whose URL carries a secret (a one-time link): its log line has the rule."""
    view.path_holds_secret = True
    return view


def _path_holds_secret() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "path_holds_secret", False)


_written = threading.Lock()
_second = [0, ""]  # the last second a line was stamped with, and its text


def _log_request(fields: dict) -> None:
    """Write a request's line. As JSON, directly: through logging it cost four times more.

    (Measured in process: 74 us a request through a LogRecord and JsonFormatter, against a
    check's 400 us; docs/performance.md.)
    """
    if not _json_format():
        request_log.info("request", extra=fields)
        return
    now = int(time.time())
    if _second[0] != now:
        _second[:] = [now, time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))]
    document = {"time": _second[1], "level": "info", "logger": request_log.name}
    line = json.dumps({**document, "message": "request", **fields})
    with _written:
        sys.stderr.write(line + "\n")


_instruments = {}
_instruments_made = threading.Lock()


def _observe(method: str, route: str, status: int, elapsed: float) -> None:
    # prometheus_client is imported at the first request, in the serving process: its
    # multiprocess mode reads PROMETHEUS_MULTIPROC_DIR when it is first imported. Threads
    # of one worker may all be at their first request: the instruments are made once.
    with _instruments_made:
        if not _instruments:
            _make_instruments()
    _instruments["count"].labels(method, route, str(status)).inc()
    _instruments["latency"].labels(method, route).observe(elapsed)


def _make_instruments() -> None:
    from prometheus_client import Counter, Histogram

    _instruments["count"] = Counter(
        "rolecall_http_requests", "HTTP requests answered", ["method", "route", "status"]
    )
    _instruments["latency"] = Histogram(
        "rolecall_http_request_duration_seconds",
        "Time to answer an HTTP request",
        ["method", "route"],
        buckets=LATENCY_BUCKETS,
    )


def _request_metrics() -> bytes:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _database_metrics() -> bytes:
    """What every host reads alike from the database: SCIM errors, webhook delivery state."""
    from rbac import webhooks
    from rbac.models import Directory, JournalEntry, Organization, WebhookEndpoint

    db = get_session()
    lines = []

    def family(name: str, kind: str, help_text: str, samples) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{rendered}}} {value}")

    since = utcnow() - timedelta(hours=1)
    errors = db.execute(
        select(Organization.slug, Directory.name, func.count(JournalEntry.id))
        .join(Directory, Directory.organization_id == Organization.id)
        .outerjoin(
            JournalEntry,
            (JournalEntry.directory_id == Directory.id)
            & (JournalEntry.status >= 400)
            & (JournalEntry.created_at >= since),
        )
        .group_by(Organization.slug, Directory.name)
    ).all()
    family(
        "rolecall_scim_errors_last_hour",
        "gauge",
        "SCIM requests answered 4xx or 5xx in the last hour, by directory",
        [({"org": org, "directory": name}, count) for org, name, count in errors],
    )
    endpoints = db.execute(select(WebhookEndpoint, Organization.slug).join(Organization)).all()
    deliveries, backlog, lag = [], [], []
    now = utcnow()
    for endpoint, org in endpoints:
        labels = {"org": org, "endpoint": endpoint.id}
        for result, value in (
            ("delivered", endpoint.delivered),
            ("failed_attempt", endpoint.failed_attempts),
            ("dead", endpoint.dead),
        ):
            deliveries.append(({**labels, "result": result}, value))
        count, oldest = webhooks.waiting(db, endpoint)
        backlog.append((labels, count))
        lag.append((labels, round((now - oldest).total_seconds(), 3) if oldest else 0))
    family(
        "rolecall_webhook_deliveries_total",
        "counter",
        "Webhook delivery outcomes by endpoint",
        deliveries,
    )
    family(
        "rolecall_webhook_backlog_events",
        "gauge",
        "Events past an endpoint's cursor, not yet delivered (or filtered out)",
        backlog,
    )
    family(
        "rolecall_webhook_lag_seconds",
        "gauge",
        "Age of the oldest event an endpoint has not been given yet (0 when none waits)",
        lag,
    )
    return ("\n".join(lines) + "\n").encode()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _migrations_head() -> str:
    """The head revision of migrations/ (read once)."""
    if "rolecall.migrations_head" not in current_app.extensions:
        from alembic.script import ScriptDirectory

        from app.migrate import alembic_config

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        current_app.extensions["rolecall.migrations_head"] = head
    return current_app.extensions["rolecall.migrations_head"]


# Logging: JSON lines


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and any `extra` fields."""

    STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a JSON line."""
        document = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        document.update(
            (key, value) for key, value in vars(record).items() if key not in self.STANDARD
        )
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


class _StandardError(logging.StreamHandler):
    """A handler writing to whatever sys.stderr is when a record comes (tests swap it)."""

    @property
    def stream(self):
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def _json_format() -> bool:
    return os.environ.get("ROLECALL_LOG_FORMAT", "json") == "json"


class EscapingFormatter(logging.Formatter):
    """Plain-text lines whose message cannot steer a terminal or forge a line.

    A message may repeat what a client sent (a name, a remote's error): its control
    characters are escaped. JSON lines need nothing: JSON escapes them.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line of the record, escaped (a traceback, if any, follows on its own lines)."""
        return escape_text(super().formatMessage(record), backslash=False)


def configure_logging() -> None:
    """Send the `rolecall` loggers to standard error, as JSON lines unless told text (once)."""
    logger = logging.getLogger("rolecall")
    if logger.handlers:
        return
    handler = _StandardError()
    if _json_format():
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("ROLECALL_LOG_LEVEL", "INFO").upper())
    logger.propagate = False
