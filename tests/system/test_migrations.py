"""Migrations are code: they reach the models' schema, and go down and up again cleanly."""

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.migrate import alembic_config
from rbac.db import Base, make_engine


def _run(engine, *steps):
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for step, revision in steps:
            step(config, revision)


def _organization(connection) -> None:
    """Insert organization 1, as the migrations' schema of the time holds it."""
    connection.execute(
        text(
            "INSERT INTO organizations (id, slug, name, created_at, default_role, "
            "group_roles_enabled) VALUES (1, 'a', 'a', '2026-01-01', 'viewer', 1)"
        )
    )


def test_upgrade_matches_models_and_round_trips(tmp_path):
    """Head has every table of the models with no difference; downgrade to base empties it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
    try:
        _run(engine, (command.upgrade, "head"))
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        _run(engine, (command.downgrade, "base"))
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        _run(engine, (command.upgrade, "head"))
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_events_written_before_0013_get_their_subjects(tmp_path):
    """Upgrading to 0013 fills in each existing event's audience, subjects, cause and actor."""
    engine = make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
    try:
        _run(engine, (command.upgrade, "0012"))
        with engine.begin() as connection:
            _organization(connection)
            connection.execute(
                text(
                    "INSERT INTO resources (id, organization_id, kind, parent_id, slug, "
                    "created_at) VALUES (1, 1, 'organization', NULL, '', '2026-01-01'), "
                    "(2, 1, 'project', 1, 'web', '2026-01-01'), "
                    "(3, 1, 'agent', 2, 'bot', '2026-01-01')"
                )
            )
            documents = [
                (
                    "access.granted",
                    {
                        "user_id": "u1",
                        "resource_id": 3,
                        "cause": {"type": "membership_added", "actor": "scim:x", "group_id": "g1"},
                    },
                ),
                ("dsync.group.user_added", {"user": {"id": "u1"}, "group": {"id": "g1"}}),
                ("dsync.user.created", {"id": "u2"}),
                ("api_key.created", {"actor": "cli", "api_key": {"id": 1}}),
            ]
            for number, (kind, data) in enumerate(documents, start=1):
                connection.execute(
                    text(
                        "INSERT INTO events (id, organization_id, created_at, type, data) "
                        "VALUES (:id, 1, '2026-01-01', :type, :data)"
                    ),
                    {"id": number, "type": kind, "data": json.dumps(data)},
                )
        _run(engine, (command.upgrade, "0013"))
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT audience, user_id, group_id, resource_id, project_id, cause, actor "
                    "FROM events ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("access", "u1", "g1", 3, 2, "membership_added", "scim:x"),
            ("membership", "u1", "g1", None, None, None, None),
            ("membership", "u2", None, None, None, None, None),
            ("security", None, None, None, None, None, "cli"),
        ]
    finally:
        engine.dispose()


def test_webhook_errors_stored_before_0015_lose_the_remote_bytes(tmp_path):
    """Upgrading to 0015 cuts each stored network error to its class; own words are kept."""
    engine = make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
    stored = {
        1: "BadStatusLine: SSH-2.0-OpenSSH_9.6 internal-host",
        2: "HTTP 500",
        3: "timed out: no whole answer in 10 s",
        4: "not an http(s) URL: ftp://x/?token=secret",
        5: "ConnectionRefusedError: [Errno 111] Connection refused",
    }
    try:
        _run(engine, (command.upgrade, "0014"))
        with engine.begin() as connection:
            _organization(connection)
            for endpoint_id, error in stored.items():
                connection.execute(
                    text(
                        "INSERT INTO webhook_endpoints (id, organization_id, url, secret, "
                        "event_types, enabled, created_at, created_by, cursor, attempts, "
                        "last_error, delivered, failed_attempts, dead) VALUES (:id, 1, "
                        "'http://x/', 's', '[]', 1, '2026-01-01', 'cli', 0, 1, :error, 0, 0, 0)"
                    ),
                    {"id": endpoint_id, "error": error},
                )
                connection.execute(
                    text(
                        "INSERT INTO webhook_dead_letters (endpoint_id, event_id, attempts, "
                        "last_error, died_at) VALUES (:id, 1, 3, :error, '2026-01-01')"
                    ),
                    {"id": endpoint_id, "error": error},
                )
        _run(engine, (command.upgrade, "0015"))
        expected = [
            (1, "BadStatusLine"),
            (2, "HTTP 500"),
            (3, "timed out: no whole answer in 10 s"),
            (4, "not an http(s) URL"),
            (5, "ConnectionRefusedError"),
        ]
        with engine.connect() as connection:
            for table, key in (
                ("webhook_endpoints", "id"),
                ("webhook_dead_letters", "endpoint_id"),
            ):
                rows = connection.execute(
                    text(f"SELECT {key}, last_error FROM {table} ORDER BY {key}")
                ).all()
                assert [tuple(row) for row in rows] == expected, table
    finally:
        engine.dispose()
