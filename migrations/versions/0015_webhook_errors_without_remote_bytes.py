"""Webhook errors keep no byte the remote sent: stored errors are cut to their class

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:40:00

Before, a network error was stored as "<class>: <message>", and some messages quote what the
remote answered (http.client's BadStatusLine: "SSH-2.0-OpenSSH_9.6 …"). The worker now
stores the class alone (app/worker/outbound.py); this cuts the errors already stored to it.
Rolecall's own words ("timed out: …", "HTTP 500", "HTTP 302: redirects are not followed",
"not an http(s) URL: <the admin's URL>") are kept, but the last, which may carry the URL's
query, is cut to its first words. There is nothing to restore on the way down.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWN_WORDS = ("timed out", "HTTP ", "the host resolves only")


def scrubbed(error: str) -> str:
    """The stored error as the worker now writes it."""
    if error.startswith(OWN_WORDS):
        return error
    if error.startswith("not an http(s) URL"):
        return "not an http(s) URL"
    if " resolves only to refused addresses" in error:
        return "the host resolves only to refused addresses (link-local, metadata, or not allowed)"
    return error.partition(":")[0].strip() or "network error"


def upgrade() -> None:
    connection = op.get_bind()
    for table in ("webhook_endpoints", "webhook_dead_letters"):
        rows = connection.execute(
            sa.text(f"SELECT id, last_error FROM {table} WHERE last_error IS NOT NULL")
        ).all()
        for row_id, error in rows:
            if scrubbed(error) != error:
                connection.execute(
                    sa.text(f"UPDATE {table} SET last_error = :error WHERE id = :id"),
                    {"error": scrubbed(error), "id": row_id},
                )


def downgrade() -> None:
    pass  # the bytes cut are gone, as they should be
