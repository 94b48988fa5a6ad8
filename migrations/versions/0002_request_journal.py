"""request journal

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 16:15:33.215112
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rbac.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("created_at", rbac.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Double(), nullable=False),
        sa.Column(
            "tolerances",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error_detail", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_request_journal_directory_id_directories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_journal")),
    )
    with op.batch_alter_table("request_journal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_journal_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_request_journal_directory_id_id"), ["directory_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_journal_directory_id_id"))
        batch_op.drop_index(batch_op.f("ix_request_journal_created_at"))

    op.drop_table("request_journal")
