"""directories can be disabled

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 17:14:40.743599
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rbac.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("directories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("disabled_at", rbac.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("directories", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
