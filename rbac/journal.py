"""The per-directory request journal: written apart from the request's transaction, pruned.

Writes and failures are journaled one line each. Successful reads are counted per minute and
route (`ReadCount`), so that serving a read writes nothing.
"""

from datetime import datetime, timedelta

from sqlalchemy import Text, cast, delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rbac.db import conflict_insert, utcnow
from rbac.models import Directory, JournalEntry, ReadCount

MAX_PATH = 2048
MAX_DETAIL = 2048
MAX_CORRELATION_ID = 64

# Text a client chose (path, correlation id, error details quoting its input) is stored with
# backslash and every character that is not printable (controls, line and paragraph
# separators, bidirectional overrides) written as Python escapes, so that no stored line can
# forge another when printed; printable text such as "é" stays as it is.
_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_text(text: str, *, backslash: bool = True) -> str:
    """Return text that cannot break a line or a column: controls (and backslash) escaped."""
    if text.isprintable() and (not backslash or "\\" not in text):
        return text
    return "".join(_escape_character(character, backslash) for character in text)


def record_request(engine: Engine, **entry) -> int:
    """Write one journal line, its client-chosen text escaped, in its own transaction."""
    entry["path"] = escape_text(entry["path"])[:MAX_PATH]
    entry["correlation_id"] = escape_text(entry["correlation_id"])[:MAX_CORRELATION_ID]
    if entry.get("error_detail"):
        entry["error_detail"] = escape_text(entry["error_detail"])[:MAX_DETAIL]
    with engine.begin() as connection:
        return connection.execute(_JOURNAL_INSERT, {"created_at": utcnow(), **entry}).scalar_one()


# Built once, the values bound at execution: building an INSERT with .values() cost about as
# much as running it (every write request runs this one).
_JOURNAL_INSERT = insert(JournalEntry).returning(JournalEntry.id)


def add_read_counts(
    engine: Engine, counts: dict[tuple[int, datetime, str], list], max_age: timedelta
) -> None:
    """Add reads counted in memory, {(directory, minute, route): [count, ms]}; prune old ones."""
    if not counts:
        return
    with engine.begin() as connection:
        # A directory deleted since its reads were counted takes its counts with it.
        counted = {directory_id for directory_id, _, _ in counts}
        present = set(connection.scalars(select(Directory.id).where(Directory.id.in_(counted))))
        rows = [
            {"directory_id": d, "minute": m, "route": r, "count": c, "duration_ms": ms}
            for (d, m, r), (c, ms) in sorted(counts.items())  # one order: no deadlock
            if d in present
        ]
        if rows:
            connection.execute(_count_upsert(engine.dialect.name), rows)
        connection.execute(delete(ReadCount).where(ReadCount.minute < utcnow() - max_age))


def _count_upsert(dialect: str):
    """INSERT a minute's count, or add it to the one there (both backends' ON CONFLICT)."""
    upsert = conflict_insert(dialect)(ReadCount)
    return upsert.on_conflict_do_update(
        index_elements=["directory_id", "minute", "route"],
        set_={
            "count": ReadCount.count + upsert.excluded.count,
            "duration_ms": ReadCount.duration_ms + upsert.excluded.duration_ms,
        },
    )


def read_counts(session: Session, directory_id: int, since: datetime) -> list[ReadCount]:
    """Return a directory's counted reads since a moment, newest minute first."""
    query = select(ReadCount).where(
        ReadCount.directory_id == directory_id, ReadCount.minute >= since
    )
    return list(session.scalars(query.order_by(ReadCount.minute.desc(), ReadCount.route)))


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
    session: Session,
    directory_id: int,
    limit: int = 50,
    errors_only: bool = False,
    *,
    method: str | None = None,
    tolerated_only: bool = False,
) -> list[JournalEntry]:
    """Return a directory's newest journal lines, newest first (failed, of a method, tolerated)."""
    query = select(JournalEntry).where(JournalEntry.directory_id == directory_id)
    if errors_only:
        query = query.where(JournalEntry.status >= 400)
    if method is not None:
        query = query.where(JournalEntry.method == method)
    if tolerated_only:
        query = query.where(cast(JournalEntry.tolerances, Text) != "[]")
    return list(session.scalars(query.order_by(JournalEntry.id.desc()).limit(limit)))


def request_counts(session: Session, directory_id: int, since: datetime) -> tuple[int, int]:
    """Return how many requests a directory sent since a moment (reads too), and how many failed."""
    total, failed = session.execute(
        select(func.count(), func.count().filter(JournalEntry.status >= 400)).where(
            JournalEntry.directory_id == directory_id, JournalEntry.created_at >= since
        )
    ).one()
    reads = session.scalar(
        select(func.coalesce(func.sum(ReadCount.count), 0)).where(
            ReadCount.directory_id == directory_id, ReadCount.minute >= since
        )
    )
    return total + reads, failed


def _escape_character(character: str, backslash: bool) -> str:
    if character == "\\" and not backslash:
        return character
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    if character.isprintable():
        return character
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def requests_since(session: Session, directory_id: int, since: datetime) -> tuple[int, datetime]:
    """Count a directory's journaled requests since a moment (429s aside); return the oldest."""
    count, oldest = session.execute(
        select(func.count(), func.min(JournalEntry.created_at)).where(
            JournalEntry.directory_id == directory_id,
            JournalEntry.created_at > since,
            JournalEntry.status != 429,
        )
    ).one()
    return count, oldest
