"""Webhook endpoints of an organization, and the bookkeeping of delivering events to them.

Every endpoint receives its organization's events one at a time, in event order, at least
once (`rolecall worker`, app.worker). Where it stands lives on its row: `cursor` is the last
event done with. A worker takes an endpoint with a lease (claimed with `SELECT … FOR UPDATE
SKIP LOCKED` on PostgreSQL, and a conditional UPDATE everywhere), delivers outside any
transaction, and records the outcome only while the lease is still its own. A worker that
dies loses nothing: its lease runs out and another carries on from the cursor (the receiver
may see that event twice; its `webhook-id` says so). A failing event is retried with
exponential backoff and jitter, holding back the events after it (order holds); past the
give-up window it becomes a dead letter and the endpoint moves on. `replay` sets the cursor
back. Functions take a session and never commit; their callers do.
"""

import base64
import random
import re
import secrets
import socket
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from rbac.authorization import authorize, permissions_on
from rbac.context import Context
from rbac.db import utcnow
from rbac.errors import Conflict, InvalidValue, NotFound
from rbac.event_log import EVENT_TYPES, read_events, record_action
from rbac.listing import Page, page_of
from rbac.models import DeadLetter, Event, WebhookEndpoint
from rbac.payloads import WebhookAction, WebhookReplay, WebhookSecretRotation
from rbac.resources import org_resource

SECRET_PREFIX = "whsec_"
# `*`, a family of events (`access.*`, `dsync.user.*`) or one type (`access.revoked`).
EVENT_PATTERN = re.compile(r"\*|[a-z_]+(\.[a-z_]+)*(\.\*)?")
MAX_PATTERNS = 50
# Endpoints per organization, and how far a backlog is counted (beyond, it reads as the cap).
MAX_ENDPOINTS = 50
# The longest a rotated secret keeps signing beside its successor.
MAX_SECRET_OVERLAP = timedelta(days=30)
BACKLOG_CAP = 10_000
ERROR_LENGTH = 500


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a worker retries, when it gives an event up, and how long it holds an endpoint."""

    retry_base: timedelta = timedelta(seconds=2)
    retry_max: timedelta = timedelta(hours=1)
    give_up_after: timedelta = timedelta(days=3)
    lease: timedelta = timedelta(seconds=60)

    def backoff(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait before the next attempt: doubling from retry_base, capped, jittered."""
        delay = min(self.retry_max, self.retry_base * 2 ** min(attempts - 1, 30))
        return delay * rng.uniform(0.5, 1.0)


# Endpoints: created, changed, replayed and deleted by admins


def create_endpoint(
    ctx: Context, url: str, event_types: Sequence[str] = ()
) -> tuple[WebhookEndpoint, str]:
    """Add a webhook endpoint; return it and its signing secret (`whsec_…`, shown once).

    It receives the events written from now on (`replay` reaches back). An organization has
    at most MAX_ENDPOINTS: each is a worker's lease and a backlog to count.
    """
    _authorize(ctx)
    held = select(func.count()).where(WebhookEndpoint.organization_id == ctx.org.id)
    if ctx.session.scalar(held) >= MAX_ENDPOINTS:
        raise Conflict(f"an organization has at most {MAX_ENDPOINTS} webhook endpoints")
    endpoint = WebhookEndpoint(
        organization_id=ctx.org.id,
        url=check_url(url),
        secret=_new_secret(),
        event_types=check_patterns(event_types),
        enabled=True,
        created_by=ctx.actor.label,
        cursor=_last_event(ctx.session, ctx.org.id),
    )
    ctx.session.add(endpoint)
    ctx.session.flush()
    record_action(ctx, "webhook.created", WebhookAction(_endpoint_named(endpoint)))
    endpoint.cursor = _last_event(ctx.session, ctx.org.id)  # its own creation is behind it
    ctx.session.flush()
    return endpoint, endpoint.secret


def list_endpoints(session: Session, org_id: int) -> list[WebhookEndpoint]:
    """Return an organization's webhook endpoints, oldest first."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.organization_id == org_id)
    return list(session.scalars(query.order_by(WebhookEndpoint.id)))


def endpoints_page(
    session: Session, org_id: int, *, after: int = 0, limit: int
) -> Page[WebhookEndpoint]:
    """Return a page of the organization's endpoints, by id."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == org_id, WebhookEndpoint.id > after
    )
    rows = session.scalars(query.order_by(WebhookEndpoint.id).limit(limit + 1)).all()
    return page_of(rows, limit, lambda endpoint: endpoint.id)


def url_reader(ctx: Context) -> Callable[[WebhookEndpoint], str]:
    """How the reader sees endpoints' URLs (a viewer: no query, where tokens live); asked once."""
    held = permissions_on(ctx, org_resource(ctx.session, ctx.org))
    if ctx.catalog.administration.manage_webhooks in held:
        return lambda endpoint: endpoint.url
    return lambda endpoint: redacted_url(endpoint.url)


def get_endpoint(session: Session, org_id: int, endpoint_id: int) -> WebhookEndpoint:
    """Return one of the organization's endpoints (another org's is as missing as none)."""
    found = session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.organization_id != org_id:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return found


def update_endpoint(
    ctx: Context,
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint's URL, event filter or enabled state (what is None stays)."""
    _authorize(ctx)
    if url is not None:
        endpoint.url = check_url(url)
    if event_types is not None:
        endpoint.event_types = check_patterns(event_types)
    if enabled is not None:
        endpoint.enabled = enabled
        if enabled:  # a resumed endpoint retries its head event at once
            endpoint.next_attempt_at = None
    ctx.session.flush()
    record_action(ctx, "webhook.updated", WebhookAction(_endpoint_named(endpoint)))
    return endpoint


def rotate_secret(ctx: Context, endpoint: WebhookEndpoint, overlap: timedelta) -> str:
    """Give an endpoint a new signing secret; return it (shown once).

    Until `overlap` has passed, each delivery is signed with both secrets (Standard Webhooks
    allows one `v1,` signature per secret), so the receiver switches to the new one whenever
    it likes; then the old one stops signing. A rotation during another's overlap ends it.
    """
    _authorize(ctx)
    if not timedelta(0) <= overlap <= MAX_SECRET_OVERLAP:
        raise InvalidValue(f"a secret's overlap is 0 to {MAX_SECRET_OVERLAP.days} days")
    endpoint.previous_secret = endpoint.secret if overlap else None
    endpoint.previous_secret_expires_at = utcnow() + overlap if overlap else None
    endpoint.secret = _new_secret()
    ctx.session.flush()
    rotation = WebhookSecretRotation(_endpoint_named(endpoint), overlap.total_seconds() / 3600)
    record_action(ctx, "webhook.secret_rotated", rotation)
    return endpoint.secret


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and a rotated one in overlap."""
    live = endpoint.previous_secret and endpoint.previous_secret_expires_at > now
    return [endpoint.secret, endpoint.previous_secret] if live else [endpoint.secret]


def delete_endpoint(ctx: Context, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its dead letters; nothing more is sent to it."""
    _authorize(ctx)
    named = _endpoint_named(endpoint)
    ctx.session.delete(endpoint)
    ctx.session.flush()
    record_action(ctx, "webhook.deleted", WebhookAction(named))


def replay(ctx: Context, endpoint: WebhookEndpoint, from_event_id: int) -> int:
    """Deliver every event from this id on again, in order; return the dead letters it revives.

    Events the endpoint already received come again with the same `webhook-id`.
    """
    _authorize(ctx)
    if from_event_id < 1 or from_event_id > 2**63 - 1:
        raise InvalidValue("replay starts from an event id (1 or more)")
    endpoint.cursor = from_event_id - 1
    endpoint.attempts, endpoint.failing_since, endpoint.next_attempt_at = 0, None, None
    revived = ctx.session.execute(
        update(DeadLetter)
        .where(
            DeadLetter.endpoint_id == endpoint.id,
            DeadLetter.event_id >= from_event_id,
            DeadLetter.replayed_at.is_(None),
        )
        .values(replayed_at=utcnow())
    ).rowcount
    ctx.session.flush()
    replayed = WebhookReplay(_endpoint_named(endpoint), from_event_id)
    record_action(ctx, "webhook.replayed", replayed)
    return revived


def dead_letters(session: Session, endpoint: WebhookEndpoint, limit: int = 100) -> list[DeadLetter]:
    """Return an endpoint's dead letters, newest first."""
    query = select(DeadLetter).where(DeadLetter.endpoint_id == endpoint.id)
    return list(session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit)))


def backlog(session: Session, endpoint: WebhookEndpoint) -> int:
    """How many of the organization's events lie past the endpoint's cursor (filtered or not)."""
    return waiting(session, endpoint)[0]


def waiting(session: Session, endpoint: WebhookEndpoint) -> tuple[int, datetime | None]:
    """The backlog (up to BACKLOG_CAP), and when its oldest event was recorded (None if none).

    Bounded, so that listing endpoints far behind a busy stream stays cheap: 340 endpoints
    over 400 000 events once took 2.4 s to list.
    """
    past = (
        select(Event.created_at)
        .where(Event.organization_id == endpoint.organization_id, Event.id > endpoint.cursor)
        .order_by(Event.id)
        .limit(BACKLOG_CAP)
        .subquery()
    )
    count, oldest = session.execute(select(func.count(), func.min(past.c.created_at))).one()
    return count, oldest


def check_url(url: str) -> str:
    """Return a webhook URL if it is an absolute http(s) URL without credentials."""
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if len(url) > 2048 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"{url[:100]!r} is not an http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidValue("a webhook URL carries no credentials: receivers check the signature")
    try:
        parts.port  # noqa: B018 -- parsing it raises on a bad port
    except ValueError:
        raise InvalidValue(f"{url[:100]!r} has an invalid port") from None
    return url


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """Return event-type patterns (`*`, `access.*`, `access.revoked`) if each is one."""
    cleaned = sorted({pattern.strip() for pattern in patterns if pattern.strip()})
    if len(cleaned) > MAX_PATTERNS:
        raise InvalidValue(f"at most {MAX_PATTERNS} event patterns")
    for pattern in cleaned:
        if not EVENT_PATTERN.fullmatch(pattern):
            raise InvalidValue(
                f"{pattern[:100]!r} is not an event pattern: `*`, `access.*` or `access.revoked`"
            )
        if not any(_matches(pattern, event_type) for event_type in EVENT_TYPES):
            families = ", ".join(sorted({t.rsplit(".", 1)[0] + ".*" for t in EVENT_TYPES}))
            raise InvalidValue(f"{pattern!r} matches no event type; the types are {families}")
    return cleaned


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """Whether an endpoint's filter lets an event type through (no filter: everything)."""
    if not endpoint.event_types:
        return True
    return any(_matches(pattern, event_type) for pattern in endpoint.event_types)


def _matches(pattern: str, event_type: str) -> bool:
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def redacted_url(url: str) -> str:
    """A webhook URL as events and logs show it: no credentials, no query (tokens live there)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, "redacted" if parts.query else "", "")
    )


def _endpoint_named(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.id,
        "url": redacted_url(endpoint.url),
        "events": list(endpoint.event_types or []),
        "enabled": endpoint.enabled,
    }


def _authorize(ctx: Context) -> None:
    authorize(ctx, ctx.catalog.administration.manage_webhooks, org_resource(ctx.session, ctx.org))


def _last_event(session: Session, org_id: int) -> int:
    """The organization's last event id now (events after it are delivered)."""
    query = select(func.max(Event.id)).where(Event.organization_id == org_id)
    return session.scalar(query) or 0


# Delivery: what `rolecall worker` does with an endpoint


def claim(
    session: Session, owner: str, policy: DeliveryPolicy, now: datetime | None = None
) -> WebhookEndpoint | None:
    """Lease an endpoint that is due and has events waiting; None if there is none.

    The caller commits at once, delivers, then records the outcome.
    """
    now = now or utcnow()
    free = or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now)
    waiting = exists().where(
        Event.organization_id == WebhookEndpoint.organization_id,
        Event.id > WebhookEndpoint.cursor,
    )
    candidates = (
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.next_attempt_at.is_(None), WebhookEndpoint.next_attempt_at <= now),
            free,
            waiting,
        )
        .order_by(WebhookEndpoint.next_attempt_at.is_not(None), WebhookEndpoint.next_attempt_at)
        .limit(10)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    for endpoint_id in session.scalars(candidates).all():
        # The conditional UPDATE is what makes the lease exclusive, on either backend.
        taken = session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, free)
            .values(lease_owner=owner, lease_until=now + policy.lease)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            return session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    return None


def next_event(
    session: Session, endpoint: WebhookEndpoint, batch: int = 100
) -> tuple[Event | None, int]:
    """The next event the endpoint wants, in order, and the last id read before it.

    Events its filter turns away are passed over: with no event wanted, the id tells how far
    the cursor may move (`release`).
    """
    cursor = endpoint.cursor
    while True:
        events = read_events(session, endpoint.organization_id, cursor, batch)
        for event in events:
            if wants(endpoint, event.type):
                return event, cursor
            cursor = event.id
        if len(events) < batch:
            return None, cursor


def record_success(
    session: Session,
    endpoint: WebhookEndpoint,
    owner: str,
    event: Event,
    policy: DeliveryPolicy,
    now: datetime | None = None,
) -> bool:
    """Move the cursor past a delivered event and renew the lease; False if the lease was lost."""
    now = now or utcnow()
    return _if_still_leased(
        session,
        endpoint,
        owner,
        **_past(event),
        last_error=None,
        last_success_at=now,
        delivered=WebhookEndpoint.delivered + 1,
        lease_until=now + policy.lease,
    )


def _past(event: Event) -> dict:
    """An endpoint done with an event, delivered or dead: its cursor moves on, retries restart."""
    return {"cursor": event.id, "attempts": 0, "failing_since": None, "next_attempt_at": None}


def record_failure(
    session: Session,
    endpoint: WebhookEndpoint,
    owner: str,
    event: Event,
    error: str,
    policy: DeliveryPolicy,
    rng: random.Random,
    now: datetime | None = None,
) -> bool:
    """Schedule a retry of a failed event, or dead-letter it past the give-up window.

    The lease is released either way. False if it had been lost (nothing is recorded).
    """
    now = now or utcnow()
    error = error[:ERROR_LENGTH]
    attempts = endpoint.attempts + 1
    failing_since = endpoint.failing_since or now
    if now - failing_since >= policy.give_up_after:
        recorded = _if_still_leased(
            session,
            endpoint,
            owner,
            **_past(event),
            last_error=error,
            failed_attempts=WebhookEndpoint.failed_attempts + 1,
            dead=WebhookEndpoint.dead + 1,
            lease_owner=None,
            lease_until=None,
        )
        if recorded:
            session.add(
                DeadLetter(
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    attempts=attempts,
                    last_error=error,
                    died_at=now,
                )
            )
            session.flush()
        return recorded
    return _if_still_leased(
        session,
        endpoint,
        owner,
        attempts=attempts,
        failing_since=failing_since,
        next_attempt_at=now + policy.backoff(attempts, rng),
        last_error=error,
        failed_attempts=WebhookEndpoint.failed_attempts + 1,
        lease_owner=None,
        lease_until=None,
    )


def release(
    session: Session, endpoint: WebhookEndpoint, owner: str, cursor: int | None = None
) -> None:
    """Give an endpoint's lease back, with the cursor moved past events it does not want."""
    moved = {"cursor": cursor} if cursor is not None and cursor > endpoint.cursor else {}
    _if_still_leased(session, endpoint, owner, lease_owner=None, lease_until=None, **moved)


def _if_still_leased(session: Session, endpoint: WebhookEndpoint, owner: str, **values) -> bool:
    # A lease that ran out is still ours until another worker takes it: then it names them.
    changed = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        session.refresh(endpoint)
    return changed == 1


def worker_name() -> str:
    """A name for this worker's leases: host, process and a random part."""
    return f"{socket.gethostname()[:60]}:{secrets.token_hex(4)}"
