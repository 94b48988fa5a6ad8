"""Migrations are code: they reach the models' schema, and go down and up again cleanly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
