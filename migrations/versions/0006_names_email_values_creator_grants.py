"""users' name parts and emails as sent (for WorkOS-shaped events); creators' admin as grants

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 07:20:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("given_name", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("family_name", sa.String(length=256), nullable=True))
    with op.batch_alter_table("user_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", sa.String(length=320), nullable=True))

    connection = op.get_bind()
    # Name parts from the stored SCIM document; emails as sent are not kept apart before this
    # revision, so their casefolded form stands in until the IdP next sends the user.
    users = connection.execute(sa.text("SELECT id, attributes FROM users")).all()
    for user_id, attributes in users:
        document = json.loads(attributes) if isinstance(attributes, str) else attributes or {}
        name = document.get("name") if isinstance(document.get("name"), dict) else {}
        connection.execute(
            sa.text("UPDATE users SET given_name = :given, family_name = :family WHERE id = :id"),
            {"given": name.get("givenName"), "family": name.get("familyName"), "id": user_id},
        )
    connection.execute(sa.text("UPDATE user_emails SET value = value_key"))
    # The creator of an asset was its admin by a source of its own; it is now a direct grant
    # (listed, revocable). 'admin' is the default catalog's creator role.
    connection.execute(
        sa.text(
            "INSERT INTO grants (user_id, resource_id, role, granted_by, created_at) "
            "SELECT r.created_by_user_id, r.id, 'admin', 'creator', r.created_at "
            "FROM resources r WHERE r.created_by_user_id IS NOT NULL "
            "AND r.kind IN ('agent', 'tool', 'knowledge', 'workforce') "
            "AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = r.created_by_user_id "
            "AND g.resource_id = r.id AND g.role = 'admin')"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("user_emails", schema=None) as batch_op:
        batch_op.drop_column("value")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("family_name")
        batch_op.drop_column("given_name")
