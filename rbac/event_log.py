"""The event log: one ordered stream per organization, written in the caller's transaction.

An event is written from its type, a payload of the class its type declares
(`rbac.event_types`, `rbac.payloads`) and its actor. Its JSON `data` is the payload's
fields, one key each, and `actor`, which the log adds to every event but an access change:
that one names its actor in its cause (`cause.actor`), as it always has.

An event's id is the consumers' cursor and idempotency key, so an organization's ids must
become visible in order: a reader past id N must never see an event numbered below N commit
later. On PostgreSQL ids are handed out at insert, before commit; so a transaction takes its
organization's event lock (a transaction-level advisory lock) before its first event and
holds it to commit. One transaction at a time writes an organization's events: their ids are
in commit order, and a reader may take every visible event after its cursor.

(Filtering readers by "transaction id below the oldest one in flight" is not enough: a
committed event of a late-starting transaction is then hidden while earlier-started
transactions' later-numbered events pass, and the cursor moves past it for good. The
multi-host test caught exactly that.)

The cost: an organization's event-writing transactions run one after another from their
first event to their commit (docs/rbac.md). SQLite has one writer at a time anyway. Each
event also keeps its transaction's id, for support.
"""

import contextlib
from collections.abc import Iterator

from sqlalchemy import BigInteger, Text, cast, func, select
from sqlalchemy.orm import Session

from rbac.bulk import insert_rows, rows_by_id
from rbac.context import Context
from rbac.db import utcnow
from rbac.event_types import BY_NAME, NAMES, TYPES
from rbac.models import Event, Resource
from rbac.payloads import AccessChange, DirectoryGroup, DirectoryUser, as_data

# The advisory lock's first key: "RC" events. The second is the organization's id.
EVENT_LOCK_SPACE = 0x5243

# Every event type there is (rbac.event_types): writing another is a bug, and a webhook's
# filter must name one of these, so that a misspelt filter is refused rather than never matching.
EVENT_TYPES = NAMES
# Access changes name their actor in their cause (`cause.actor`); every other event, at the top.
_ACTOR_IN_CAUSE = frozenset(t.name for t in TYPES if t.payload is AccessChange)
_USER_EVENTS = frozenset(t.name for t in TYPES if t.payload is DirectoryUser)
_GROUP_EVENTS = frozenset(t.name for t in TYPES if t.payload is DirectoryGroup)
_AUDIENCES = {t.name: t.audience.value for t in TYPES}
# The session's key of a dry run's collected events (`dry_run`).
_DRY_RUN = "rolecall.dry_run"


@contextlib.contextmanager
def dry_run(session: Session) -> Iterator[list[tuple[str, dict]]]:
    """Collect the events written in the block instead of writing them: a preview's.

    Nothing reaches the stream, and the organization's event lock is never taken, so that
    showing what a change would do holds up no one's writes. The caller undoes the base
    tables' changes itself (a savepoint rolled back).
    """
    collected: list[tuple[str, dict]] = []
    session.info[_DRY_RUN] = collected
    try:
        yield collected
    finally:
        session.info.pop(_DRY_RUN, None)


def record_event(session: Session, org_id: int, kind: str, payload: object, actor: str) -> Event:
    """Append an event of a type, its payload and its actor, in the caller's transaction."""
    data = event_data(kind, payload, actor)
    if _DRY_RUN in session.info:
        session.info[_DRY_RUN].append((kind, data))
        return Event(organization_id=org_id, type=kind, data=data)
    txid = _writing(session, org_id)
    subjects = _subjects(kind, data, _projects(session, [data]))
    event = Event(organization_id=org_id, type=kind, data=data, txid=txid, **subjects)
    session.add(event)
    return event


def record_action(ctx: Context, kind: str, payload: object) -> Event:
    """Append an admin action's event, naming its actor, in the caller's transaction."""
    return record_event(ctx.session, ctx.org.id, kind, payload, ctx.actor.label)


def record_events(
    session: Session, org_id: int, events: list[tuple[str, object]], actor: str
) -> None:
    """Append many (type, payload) events of one actor in one statement, after pending ones."""
    if not events:
        return
    documents = [(kind, event_data(kind, payload, actor)) for kind, payload in events]
    if _DRY_RUN in session.info:
        session.info[_DRY_RUN].extend(documents)
        return
    txid = _writing(session, org_id)
    session.flush()  # events the session holds were written first, and keep lower ids
    now = utcnow()
    projects = _projects(session, [data for _, data in documents])
    rows = [
        {
            "organization_id": org_id,
            "created_at": now,
            "type": kind,
            "data": data,
            "txid": txid,
            **_subjects(kind, data, projects),
        }
        for kind, data in documents
    ]
    insert_rows(session, Event.__table__, rows)


def event_data(kind: str, payload: object, actor: str) -> dict:
    """Return an event's JSON `data`: its payload's fields, and its actor but for access changes.

    The payload must be of the class its type declares (rbac.event_types): a type error
    otherwise, so that an event's keys are always its declared payload's fields.
    """
    event_type = BY_NAME.get(kind)
    if event_type is None:
        raise ValueError(f"{kind!r} not in rbac.event_log.EVENT_TYPES")
    if not isinstance(payload, event_type.payload):
        shapes = " or ".join(shape.__name__ for shape in event_type.shapes)
        raise TypeError(f"a {kind} event carries {shapes}, not {type(payload).__name__}")
    data = as_data(payload)
    if kind not in _ACTOR_IN_CAUSE:
        data["actor"] = actor
    return data


def _subjects(kind: str, data: dict, projects: dict[int, int | None]) -> dict:
    """What an event is about, as indexed columns: the audit log reads these, never the JSON."""
    cause = data.get("cause") or {}
    # A user or group event's data is the object itself; others name theirs under a key.
    user = data if kind in _USER_EVENTS else data.get("user") or {}
    group = data if kind in _GROUP_EVENTS else data.get("group") or {}
    resource_id = data.get("resource_id")
    return {
        "audience": _AUDIENCES[kind],
        "user_id": data.get("user_id") or user.get("id"),
        "group_id": group.get("id") or cause.get("group_id"),
        "resource_id": resource_id,
        "project_id": projects.get(resource_id),
        "cause": cause.get("type"),
        "actor": data.get("actor") or cause.get("actor"),
    }


def _projects(session: Session, documents: list[dict]) -> dict[int, int | None]:
    """The project of each resource the events name: itself, an asset's parent, or none."""
    ids = {d["resource_id"] for d in documents if d.get("resource_id") is not None}
    # Mostly in the session already: the recomputation that wrote these events loaded them.
    resources = rows_by_id(session, Resource, ids)
    return {
        rid: rid if r.kind == "project" else None if r.kind == "organization" else r.parent_id
        for rid, r in resources.items()
    }


def read_events(session: Session, org_id: int, after: int = 0, limit: int = 100) -> list[Event]:
    """Return the organization's events after a cursor, oldest first, never skipping one."""
    query = select(Event).where(Event.organization_id == org_id, Event.id > after)
    return list(session.scalars(query.order_by(Event.id).limit(limit)))


def _writing(session: Session, org_id: int) -> int | None:
    """Take the organization's event lock (once per transaction); return the transaction id."""
    if session.get_bind().dialect.name != "postgresql":
        return None  # SQLite has one writer at a time: ids commit in order.
    transaction = session.get_transaction()
    written = session.info.get("rolecall.events")  # [transaction, its id, orgs locked]
    if written is None or written[0] is not transaction:
        written = session.info["rolecall.events"] = [transaction, None, set()]
    if org_id not in written[2]:
        # One round trip: the lock (waiting for the organization's current writer) and the id.
        written[1] = session.execute(
            select(
                cast(cast(func.pg_current_xact_id(), Text), BigInteger),
                func.pg_advisory_xact_lock(EVENT_LOCK_SPACE, org_id),
            )
        ).scalar()
        written[2].add(org_id)
    return written[1]
