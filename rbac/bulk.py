"""Statements over many rows at once, with one parameter per column instead of one per value.

A change that reaches a 10 000-member group reads and writes 10 000 users' rows. Written as
`IN (:p1, …, :p10000)` or as an executemany, every value is a parameter that SQLAlchemy
renders and the driver parses again (psycopg parses placeholders in Python: 2.2 of the 5 s
such a change took under cProfile), or a round trip per row. Here a set of values is one
parameter, a JSON document: read by `json_array_elements_text` (ids) and `json_to_recordset`
(rows) on PostgreSQL, by `json_each` on SQLite (whatever limit the SQLite build puts on
parameters a statement: 32 766 by default).
"""

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Table, Text, bindparam, cast, column, func, insert, select
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

# Up to this many values, a plain IN list: cheaper to build than the one-parameter forms,
# which pay off for large sets (one user's change names one; a group's, thousands).
FEW = 50


def rows_by_id(session: Session, model, ids: Iterable, *options) -> dict:
    """Return rows by id: those the session holds already, the others in one query."""
    found, missing = held_rows(session, model, ids)
    if missing:
        query = select(model).where(among(session, model.id, missing)).options(*options)
        found.update({row.id: row for row in session.scalars(query)})
    return found


def held_rows(session: Session, model, ids: Iterable) -> tuple[dict, set]:
    """Return the rows by id the session holds (and is not deleting), and the ids it does not."""
    found, missing = {}, set()
    for row_id in set(ids):
        row = session.identity_map.get(session.identity_key(model, row_id))
        if row is not None and row not in session.deleted:
            found[row_id] = row
        else:
            missing.add(row_id)
    return found, missing


def among(session: Session, column, values: Iterable) -> ColumnElement[bool]:
    """Return `column IN values`, with the values as one parameter when there are many."""
    values = list(values)
    if len(values) <= FEW:
        return column.in_(values)
    document = bindparam(None, json.dumps(values), type_=Text)
    if _postgresql(session):
        # JSON, not an array parameter: psycopg quotes an array's elements in Python, one
        # regular expression each (0.1 s of a 10 000-member group's change).
        listed = func.json_array_elements_text(cast(document, JSON)).table_valued("value")
        return column.in_(select(cast(listed.c.value, column.type)))
    listed = func.json_each(document).table_valued("value")
    return column.in_(select(listed.c.value))


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert rows (each with the same keys) in one statement, in the order given."""
    if not rows:
        return
    if not _postgresql(session):
        # One prepared statement run per row inside SQLite itself: no round trips to save.
        session.execute(insert(table), rows)
        return
    # All the rows as one JSON document, read back as typed columns (in array order).
    columns = [table.c[name] for name in rows[0]]
    document = json.dumps(rows, default=_json_value)
    listed = (
        func.json_to_recordset(cast(bindparam(None, document, type_=Text), JSON))
        .table_valued(*(column(c.name, c.type) for c in columns))
        .render_derived(with_types=True)
    )
    session.execute(insert(table).from_select(columns, select(*listed.c)))


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be inserted in bulk")
