"""Successful SCIM reads, counted per minute and route instead of a journal line each

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 15:07:54.333546
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rbac.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_read_counts",
        sa.Column("directory_id", sa.Integer(), nullable=False),
        sa.Column("minute", rbac.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name=op.f("fk_request_read_counts_directory_id_directories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "directory_id", "minute", "route", name=op.f("pk_request_read_counts")
        ),
    )
    with op.batch_alter_table("request_read_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_read_counts_minute"), ["minute"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_read_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_read_counts_minute"))

    op.drop_table("request_read_counts")
