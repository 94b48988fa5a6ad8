"""The per-directory request journal: written apart from the request's transaction, pruned."""

from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rbac.db import utcnow
from rbac.models import JournalEntry

MAX_PATH = 2048
MAX_DETAIL = 2048


def record_request(engine: Engine, **entry) -> int:
    """Write one journal line in its own transaction; return its id."""
    entry["path"] = entry["path"][:MAX_PATH]
    if entry.get("error_detail"):
        entry["error_detail"] = entry["error_detail"][:MAX_DETAIL]
    with engine.begin() as connection:
        return connection.execute(
            insert(JournalEntry).values(created_at=utcnow(), **entry).returning(JournalEntry.id)
        ).scalar_one()


def prune_journal(engine: Engine, directory_id: int, *, max_rows: int, max_age: timedelta) -> int:
    """Delete a directory's lines beyond the newest max_rows or older than max_age."""
    with engine.begin() as connection:
        newest_kept = (
            select(JournalEntry.id)
            .where(JournalEntry.directory_id == directory_id)
            .order_by(JournalEntry.id.desc())
            .offset(max_rows - 1)
            .limit(1)
            .scalar_subquery()
        )
        by_count = connection.execute(
            delete(JournalEntry).where(
                JournalEntry.directory_id == directory_id, JournalEntry.id < newest_kept
            )
        ).rowcount
        by_age = connection.execute(
            delete(JournalEntry).where(
                JournalEntry.directory_id == directory_id,
                JournalEntry.created_at < utcnow() - max_age,
            )
        ).rowcount
    return by_count + by_age


def recent_requests(
    session: Session, directory_id: int, limit: int = 50, errors_only: bool = False
) -> list[JournalEntry]:
    """Return a directory's newest journal lines, newest first."""
    query = select(JournalEntry).where(JournalEntry.directory_id == directory_id)
    if errors_only:
        query = query.where(JournalEntry.status >= 400)
    return list(session.scalars(query.order_by(JournalEntry.id.desc()).limit(limit)))
