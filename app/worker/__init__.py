"""`rolecall worker`: deliver every organization's events to its webhook endpoints until stopped.

Each thread repeats: lease an endpoint with events waiting (rbac.webhooks.claim), send them
one by one in order while the lease holds, record each outcome, give the lease back. Nothing
is held in memory that the database does not also hold: a worker killed at any point loses
nothing. On PostgreSQL any number of copies run at once; on SQLite one copy runs (a second
one says so and exits), since SQLite is one host's embedded database.

Each request is signed as Standard Webhooks says (the `standardwebhooks` package): headers
`webhook-id` (the event's id), `webhook-timestamp` and `webhook-signature`, and the body is
the event exactly as GET /api/v1/events serves it (`rbac.wire.event_document`), sent by
`outbound` (one POST, bounded in time and size, to an address allowed).
"""

import contextlib
import fcntl
import json
import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import sessionmaker
from standardwebhooks.webhooks import Webhook

from app.worker import outbound
from app.worker.outbound import OutboundPolicy
from rbac import webhooks
from rbac.db import utcnow
from rbac.models import Event, WebhookEndpoint
from rbac.wire import event_document

log = logging.getLogger("rolecall.worker")


@dataclass(frozen=True)
class WorkerSettings:
    """How many threads deliver, how often an idle one looks again, and the delivery limits."""

    threads: int = 4
    poll_seconds: float = 1.0
    delivery: webhooks.DeliveryPolicy = field(default_factory=webhooks.DeliveryPolicy)
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)


class AnotherWorkerRuns(Exception):
    """A second worker on one SQLite database: it would only wait for the first."""


def run(sessions: sessionmaker, settings: WorkerSettings, stop: threading.Event) -> None:
    """Deliver until `stop` is set; each thread finishes the delivery it is in, then returns."""
    with _single_copy_on_sqlite(sessions):
        threads = [
            threading.Thread(
                target=_deliver_until_stopped,
                args=(sessions, settings, stop),
                name=f"rolecall-worker-{number}",
                daemon=True,
            )
            for number in range(settings.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _deliver_until_stopped(sessions, settings: WorkerSettings, stop: threading.Event) -> None:
    owner = webhooks.worker_name()
    rng = random.Random()
    while not stop.is_set():
        try:
            sent = deliver_some(sessions, owner, settings, rng, stop)
        except Exception:  # a database hiccup must not end delivery; say it, wait, go on
            log.exception("delivery round failed")
            sent = 0
        if not sent:
            stop.wait(settings.poll_seconds * rng.uniform(0.5, 1.0))


def deliver_some(
    sessions: sessionmaker,
    owner: str,
    settings: WorkerSettings,
    rng: random.Random,
    stop: threading.Event | None = None,
) -> int:
    """Lease one endpoint and send its waiting events in order; return how many it accepted."""
    policy = settings.delivery
    with sessions() as session:
        endpoint = webhooks.claim(session, owner, policy)
        session.commit()
        if endpoint is None:
            return 0
        sent = 0
        while True:
            event, read_up_to = webhooks.next_event(session, endpoint)
            session.commit()  # ends the read's snapshot: the next read sees newer events
            # Paused meanwhile (seen at the last outcome recorded), or stopping: give it back.
            paused = not endpoint.enabled
            if event is None or paused or (stop is not None and stop.is_set()):
                webhooks.release(session, endpoint, owner, None if event else read_up_to)
                session.commit()
                return sent
            outcome = outbound.post(endpoint.url, *_signed(endpoint, event), settings.outbound)
            if outcome.ok:
                still_ours = webhooks.record_success(session, endpoint, owner, event, policy)
                session.commit()
                if not still_ours:
                    return sent
                sent += 1
                log.info("delivered", extra=_fields(endpoint, event, outcome, lag=_lag(event)))
                continue
            webhooks.record_failure(session, endpoint, owner, event, outcome.error, policy, rng)
            session.commit()
            log.warning("delivery failed", extra=_fields(endpoint, event, outcome))
            return sent


def payload(event: Event) -> bytes:
    """The event as GET /api/v1/events serves it, as JSON bytes."""
    return json.dumps(event_document(event), separators=(",", ":")).encode()


def _signed(endpoint: WebhookEndpoint, event: Event) -> tuple[bytes, dict[str, str]]:
    body = payload(event)
    now = utcnow()
    message_id = str(event.id)
    # One `v1,` signature per live secret: the new and, during a rotation's overlap, the old.
    signature = " ".join(
        Webhook(secret).sign(message_id, now, body.decode())
        for secret in webhooks.signing_secrets(endpoint, now)
    )
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body, headers


def _lag(event: Event) -> float:
    return (utcnow() - event.created_at).total_seconds()


def _fields(endpoint, event, outcome, **more) -> dict:
    return {
        "endpoint": endpoint.id,
        "event": event.id,
        "status": outcome.status,
        "error": outcome.error,
        **more,
    }


@contextlib.contextmanager
def _single_copy_on_sqlite(sessions: sessionmaker):
    """On SQLite, hold a lock file beside the database for as long as the worker runs."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        raise AnotherWorkerRuns("an in-memory SQLite database has no events to deliver")
    with Path(f"{database}.worker-lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnotherWorkerRuns(
                f"another worker already delivers from {database}: on SQLite one worker runs "
                "(on PostgreSQL, as many as you like)"
            ) from None
        yield
