"""A confirmation page previews a change as a dry run: no event written, no event lock, bounded.

Issue 23: previews once ran the change for real in a savepoint, writing its events (and, on
PostgreSQL, taking the organization's event lock) for as long as the page took, listing
every row (770 KB for 1 500 users), and a link on another site reached them.
"""

import re

from sqlalchemy import func, select

from app.admin import confirm
from rbac.models import Event
from tests.conftest import table_rows
from web.db import get_session


def test_a_preview_writes_no_event_and_is_bounded(world, admin, app, monkeypatch):
    """7 people lose Editor on web and Admin on its 2 assets: all counted, 5 rows, no write."""
    monkeypatch.setattr(confirm, "PREVIEW_ROWS", 5)
    members = [world.user(f"user{n}") for n in range(7)]
    group = world.group("Sales", *members)
    world.ok("group", "create", "--org", "acme", "--slug", "all", "Everyone")
    world.ok("group", "nest", "--org", "acme", "all", group)
    world.ok("assign", "--org", "acme", "--group", "Everyone", "--role", "editor", "project:web")
    every = _events(app)
    locks = []
    monkeypatch.setattr(
        "rbac.event_log._writing", lambda session, org_id: locks.append(org_id)
    )  # the event lock and transaction id: a dry run never asks for them
    page = admin.get(f"/admin/groups/{_group_id(admin)}/delete").get_data(as_text=True)
    assert "This changes the access of 7 user(s), 21 change(s) in all:" in page
    assert table_rows(page, "summary") == ["admin no access 14", "editor no access 7"]
    assert len(table_rows(page, "revokes")) == 5 and "The first 5 of 21 are listed." in page
    assert _events(app) == every and locks == []


def test_a_preview_opened_from_another_site_computes_nothing(world, admin, monkeypatch):
    """A cross-site link lands on the page without its preview; the admin reloads to see it."""
    alice = world.user("alice")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
    ran = []
    monkeypatch.setattr(confirm, "preview", lambda change: ran.append(change))
    path = f"/admin/users/{alice}/deactivate"
    page = admin.client.get(path, headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200 and ran == []
    assert "opened from another site" in page.get_data(as_text=True)


def _events(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Event))


def _group_id(admin) -> str:
    listed = admin.get("/admin/groups?q=Everyone").get_data(as_text=True)
    return re.search(r'href="/admin/groups/([^"]+)"', listed).group(1)
