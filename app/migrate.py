"""The database schema: Alembic on migrations/ (`rolecall db upgrade`, `rolecall run`, /readyz)."""

from pathlib import Path

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig

import migrations
from web.db import get_engine


def alembic_config() -> AlembicConfig:
    """Return an Alembic config whose migrations run on the app's engine."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def upgrade_database() -> None:
    """Apply every migration to the app's database."""
    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, "head")
