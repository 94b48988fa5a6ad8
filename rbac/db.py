"""The declarative base, naming convention and database helpers shared by every model."""

import unicodedata
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every Rolecall table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Store the value converted to UTC."""
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        """Read the value back as an aware UTC datetime."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def enum_values(enum: type[StrEnum]) -> list[str]:
    """Return the stored values of a StrEnum, for SQLAlchemy's Enum(values_callable=...)."""
    return [member.value for member in enum]


def conflict_insert(dialect_name: str):
    """Return the backend's insert(), the one with ON CONFLICT (PostgreSQL's or SQLite's)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and case-sensitive LIKE."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    # SQLite's lower() folds ASCII only; filters compare case-insensitive strings through this.
    dbapi_connection.create_function("rc_casefold", 1, _sqlite_casefold, deterministic=True)
    # LIKE must be case-sensitive, as it is on PostgreSQL: case-insensitive
    # comparisons lower both sides explicitly.
    cursor.execute("PRAGMA case_sensitive_like = ON")
    if not _is_memory_database(dbapi_connection):
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def casefold_key(value: str) -> str:
    """Return the form a case-insensitive string is compared and indexed under."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower())


def _sqlite_casefold(value):
    return casefold_key(value) if isinstance(value, str) else value


def _is_memory_database(dbapi_connection) -> bool:
    rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    return any(row[1] == "main" and not row[2] for row in rows)
