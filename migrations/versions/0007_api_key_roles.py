"""API keys act with a role: admin (reads, checks and writes) or viewer (reads and checks)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Keys issued before roles existed could do everything: they stay admins.
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "role",
                sa.Enum("admin", "viewer", name="apikeyrole", native_enum=False, length=16),
                nullable=False,
                server_default="admin",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("role")
