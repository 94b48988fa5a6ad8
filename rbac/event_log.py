"""The event log: one ordered stream per organization, written in the caller's transaction.

An event's id is the consumers' cursor and idempotency key. On PostgreSQL every event stores
its transaction's id, and reads stop before the oldest transaction still in flight, so a
cursor never skips an event that commits late.
"""

from sqlalchemy import BigInteger, Text, cast, func, select
from sqlalchemy.orm import Session

from rbac.models import Event


def record_event(session: Session, org_id: int, kind: str, data: dict) -> Event:
    """Append an event to the organization's stream, in the caller's transaction."""
    event = Event(organization_id=org_id, type=kind, data=data, txid=_transaction_id(session))
    session.add(event)
    return event


def read_events(session: Session, org_id: int, after: int = 0, limit: int = 100) -> list[Event]:
    """Return the organization's events after a cursor, oldest first, never skipping one."""
    query = select(Event).where(Event.organization_id == org_id, Event.id > after)
    if session.get_bind().dialect.name == "postgresql":
        # Stop before the oldest transaction still in flight: an event it writes later gets
        # a smaller id than ones already visible, and a cursor past it would skip it.
        horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
        query = query.where(Event.txid < horizon)
    return list(session.scalars(query.order_by(Event.id).limit(limit)))


def _transaction_id(session: Session) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None  # SQLite has one writer at a time: ids commit in order.
    # One round trip per transaction, not per event.
    transaction = session.get_transaction()
    cached = session.info.get("rolecall.txid")
    if cached is not None and cached[0] is transaction:
        return cached[1]
    txid = session.scalar(select(cast(cast(func.pg_current_xact_id(), Text), BigInteger)))
    session.info["rolecall.txid"] = (transaction, txid)
    return txid
