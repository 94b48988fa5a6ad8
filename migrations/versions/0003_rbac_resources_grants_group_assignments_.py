"""rbac: resources, grants, group assignments, effective access, events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 16:26:00.274531
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rbac.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "effective_access",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column(
            "additive",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "resource_id", name=op.f("pk_effective_access")),
    )
    with op.batch_alter_table("effective_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_effective_access_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_effective_access_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("created_at", rbac.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_events_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_organization_id_id"), ["organization_id", "id"], unique=False
        )

    op.create_table(
        "group_children",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("child_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_group_id"],
            ["groups.id"],
            name=op.f("fk_group_children_child_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_children_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "child_group_id", name=op.f("pk_group_children")),
    )
    with op.batch_alter_table("group_children", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_children_child_group_id"), ["child_group_id"], unique=False
        )

    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", rbac.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_resources_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_resources_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["resources.id"],
            name=op.f("fk_resources_parent_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint(
            "organization_id",
            "parent_id",
            "slug",
            name=op.f("uq_resources_organization_id_parent_id_slug"),
        ),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_created_by_user_id"), ["created_by_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resources_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resources_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", rbac.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_grants_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_grants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint(
            "user_id", "resource_id", "role", name=op.f("uq_grants_user_id_resource_id_role")
        ),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "group_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("assigned_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", rbac.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_assignments_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_group_assignments_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_assignments")),
        sa.UniqueConstraint(
            "group_id",
            "resource_id",
            "role",
            name=op.f("uq_group_assignments_group_id_resource_id_role"),
        ),
    )
    with op.batch_alter_table("group_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_assignments_resource_id"), ["resource_id"], unique=False
        )

    op.create_table(
        "workforce_agents",
        sa.Column("workforce_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["resources.id"],
            name=op.f("fk_workforce_agents_agent_id_resources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workforce_id"],
            ["resources.id"],
            name=op.f("fk_workforce_agents_workforce_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workforce_id", "agent_id", name=op.f("pk_workforce_agents")),
    )
    with op.batch_alter_table("workforce_agents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_agents_agent_id"), ["agent_id"], unique=False
        )

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("description", sa.String(length=1000), nullable=True))

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("default_role", sa.String(length=32), nullable=True, server_default="viewer")
        )
        batch_op.add_column(
            sa.Column("group_roles_enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("group_roles_enabled")
        batch_op.drop_column("default_role")

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("description")
        batch_op.drop_column("slug")

    with op.batch_alter_table("workforce_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_agents_agent_id"))

    op.drop_table("workforce_agents")
    with op.batch_alter_table("group_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_assignments_resource_id"))

    op.drop_table("group_assignments")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_resource_id"))

    op.drop_table("grants")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_parent_id"))
        batch_op.drop_index(batch_op.f("ix_resources_organization_id"))
        batch_op.drop_index(batch_op.f("ix_resources_created_by_user_id"))

    op.drop_table("resources")
    with op.batch_alter_table("group_children", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_children_child_group_id"))

    op.drop_table("group_children")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_organization_id_id"))

    op.drop_table("events")
    with op.batch_alter_table("effective_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_effective_access_resource_id"))
        batch_op.drop_index(batch_op.f("ix_effective_access_organization_id"))

    op.drop_table("effective_access")
