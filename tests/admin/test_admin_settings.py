"""/admin settings (seed 003's group-roles switch), API keys and the audit log."""

import re
from pathlib import Path

from rbac.event_types import CAUSES
from tests.conftest import table_rows


def test_switching_group_roles_off_shows_whose_access_goes_first(world, admin):
    """Seed 003: the switch off lists every member losing a group role, then applies it."""
    alice = world.user("alice")
    world.group("Engineering", alice)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    admin.get("/admin/settings")
    confirm = admin.get("/admin/settings/change?group_roles=off").get_data(as_text=True)
    assert any(row.startswith("alice project:web editor") for row in table_rows(confirm, "revokes"))
    assert world.explain("alice", "project:web")["role"] == "editor"  # nothing changed yet
    done = admin.post("/admin/settings/change", {"group_roles": "off"})
    assert done.status_code == 303
    assert world.explain("alice", "project:web")["role"] is None
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "Done: switch group roles off" in page and ">off<" in page
    admin.post("/admin/settings/change", {"group_roles": "on"})
    assert world.explain("alice", "project:web")["role"] == "editor"


def test_the_default_role_changes_after_confirmation_and_rails_hold(world, admin):
    """A new default role reaches everyone; owner is refused with the reason on the page."""
    world.user("alice")
    admin.get("/admin/settings")
    assert admin.post("/admin/settings/change", {"default_role": "member"}).status_code == 303
    assert world.explain("alice", "org")["role"] == "member"
    refused = admin.post(
        "/admin/settings/change", {"default_role": "owner", "back": "/admin/settings"}
    )
    assert refused.status_code == 409  # a safety rail
    assert "every user would own" in refused.text


def test_api_keys_are_created_once_and_revoked(world, admin, client):
    """A new key is shown once and works on /api/v1; revoked, it gets 401."""
    admin.get("/admin/settings")
    created = admin.post("/admin/settings/api-keys", {"name": "billing", "role": "viewer"})
    assert created.status_code == 303 and created.headers["Location"] == "/admin/settings"
    shown = admin.get(created.headers["Location"]).get_data(as_text=True)
    key = re.search(r'id="new-key">([^<]+)<', shown).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/settings", headers=headers).status_code == 200
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert key not in page and any("billing viewer" in row for row in table_rows(page, "keys"))
    key_id = re.search(r"/admin/settings/api-keys/(\d+)/revoke", page).group(1)
    assert admin.post(f"/admin/settings/api-keys/{key_id}/revoke").status_code == 303
    assert client.get("/api/v1/settings", headers=headers).status_code == 401


def test_the_audit_log_names_the_admin_and_filters(world, admin):
    """Admin actions appear with the admin's login; filters by type, user, resource, actor."""
    alice = world.user("alice")
    admin.get("/admin/projects/web")
    admin.post(
        "/admin/projects/web/roles", {"kind": "user", "user-holder": "alice", "user-role": "editor"}
    )
    log = admin.get("/admin/events").get_data(as_text=True)
    rows = table_rows(log, "events")
    assert any("grant.created" in row and "admin:ada@example.com" in row for row in rows)
    access = table_rows(admin.get("/admin/events?type=access.").get_data(as_text=True), "events")
    assert access and all("access." in row for row in access)
    by_user = table_rows(admin.get("/admin/events?user=alice").get_data(as_text=True), "events")
    assert by_user and all("alice" in row for row in by_user)
    assert any("project:web — → editor (direct_grant)" in row for row in by_user)
    nobody = admin.get("/admin/events?user=nobody").text
    assert table_rows(nobody, "events") == ["No event matches."] and "nobody" in nobody
    by_actor = admin.get("/admin/events?actor=admin:ada@example.com")
    assert by_actor.status_code == 200, by_actor.get_data(as_text=True)[-3000:]
    by_actor = by_actor.get_data(as_text=True)
    assert all("admin:ada@example.com" in row for row in table_rows(by_actor, "events"))
    on_web = table_rows(
        admin.get("/admin/events?resource=project:web").get_data(as_text=True), "events"
    )
    assert on_web and all("project:web" in row for row in on_web)
    assert alice


def test_the_audit_log_filters_access_changes_by_cause(world, admin):
    """A deactivation's revocations, apart from the grants that gave the access."""
    alice = world.user("alice")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
    world.set_active(alice, False)
    page = admin.get("/admin/events?cause=user_deactivated").get_data(as_text=True)
    rows = table_rows(page, "events")
    assert rows and all("access.revoked" in row and "(user_deactivated)" in row for row in rows)
    assert '<option value="user_deactivated" selected>user deactivated</option>' in page
    granted = table_rows(admin.get("/admin/events?cause=direct_grant").text, "events")
    assert granted and all("(direct_grant)" in row for row in granted)
    assert not any("user_deactivated" in row for row in granted)
    made_up = admin.get("/admin/events?cause=made_up").text  # said, and matching nothing
    assert "no event cause &#39;made_up&#39;" in made_up
    assert table_rows(made_up, "events") == ["No event matches."]


def test_every_cause_is_documented():
    """docs/rbac.md lists exactly the causes the engine writes (rbac.event_types.CAUSES)."""
    text = (Path(__file__).resolve().parents[2] / "docs/rbac.md").read_text()
    listed = re.search(r"and the cause\s+\((.*?)\)\s+with its\s+actor", text, re.S).group(1)
    assert sorted(re.findall(r"`(\w+)`", listed)) == sorted(CAUSES)


def test_the_audit_log_says_who_and_what_for_every_kind_of_event(world, admin):
    """User and group events name their object; nesting and settings say what changed."""
    world.user("alice")
    world.ok("group", "create", "--org", "acme", "--slug", "outer", "Outer")
    world.ok("group", "create", "--org", "acme", "--slug", "inner", "Inner")
    world.ok("group", "nest", "--org", "acme", "outer", "inner")
    world.ok("org", "settings", "--org", "acme", "--group-roles", "off")
    rows = table_rows(admin.get("/admin/events").get_data(as_text=True), "events")
    assert any("dsync.user.created alice" in row for row in rows)
    assert any("group.created Inner" in row for row in rows)
    assert any("group.nested Outer contains Inner" in row for row in rows)
    assert any("org.settings.changed group roles off" in row for row in rows)
