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
            connection.execute(
                text(
                    "INSERT INTO organizations (id, slug, name, created_at, default_role, "
                    "group_roles_enabled) VALUES (1, 'a', 'a', '2026-01-01', 'viewer', 1)"
                )
            )
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
