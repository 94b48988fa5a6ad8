"""RBAC rules on a real database, driven through SCIM and the `rolecall` CLI as operators do."""

import json

import pytest
from sqlalchemy import select

from rbac import tenancy
from rbac.admin import grants
from rbac.catalog import DEFAULT_CATALOG, load_catalog
from rbac.context import Context, user_actor
from rbac.errors import Forbidden, NeedsConfirmation
from rbac.models import EffectiveAccess, Event, Grant, Group, User
from rbac.resources import find_resource
from tests.conftest import ScimClient, make_directory
from web.db import get_catalog, get_session


def test_every_active_user_holds_the_default_org_role(world):
    """Seed 002: a new organization member is a Viewer."""
    world.user("alice")
    assert world.check("alice", "org.view_audit_logs", "org")
    assert not world.check("alice", "org.create_projects", "org")
    explained = world.explain("alice", "org")
    assert explained["role"] == "viewer" and explained["winner"] == "default"
    assert not world.check("alice", "project.view", "project:web")
    world.verify_clean()


def test_group_role_is_inherited_and_revoked_with_membership(world):
    """A group's project Editor role reaches its members and cascades to Admin on the assets."""
    alice = world.user("alice")
    eng = world.group("Engineering", alice)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    assert world.check("alice", "project.edit_assets", "project:web")
    assert world.check("alice", "asset.edit", "asset:web/bot")
    checked = world.run("check", "--org", "acme", "--json", "alice", "asset.edit", "asset:web/bot")
    assert json.loads(checked.output)["source"] == "cascade from editor on project:web"
    checked = world.run("check", "--org", "acme", "--json", "alice", "project.view", "project:web")
    assert json.loads(checked.output)["source"] == "group Engineering"
    explained = world.explain("alice", "asset:web/bot")
    assert explained["role"] == "admin"
    assert explained["winner"] == "cascade"
    assert explained["winner_detail"] == "cascade: editor of project:web is admin of its assets"
    sources = {(s["kind"], s["detail"]) for s in explained["sources"]}
    assert ("group", "group 'Engineering'") not in sources  # the group holds the project role
    project = world.explain("alice", "project:web")
    assert {(s["kind"], s["detail"]) for s in project["sources"]} == {
        ("group", "group 'Engineering'")
    }

    world.remove_member(eng, alice)  # one SCIM PATCH: check answers differently at once
    assert not world.check("alice", "asset.edit", "asset:web/bot")
    assert not world.check("alice", "project.view", "project:web")
    world.verify_clean()


def test_highest_source_wins_and_direct_grants_survive_idp_removal(world):
    """Direct Viewer does not lower group Admin; removing the group leaves the direct Viewer."""
    alice = world.user("alice")
    admins = world.group("Admins", alice)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "viewer", "asset:web/bot")
    world.ok("assign", "--org", "acme", "--group", "Admins", "--role", "admin", "asset:web/bot")
    assert world.explain("alice", "asset:web/bot")["role"] == "admin"
    world.remove_member(admins, alice)
    explained = world.explain("alice", "asset:web/bot")
    assert explained["role"] == "viewer" and explained["winner"] == "direct"
    # Any role on an asset makes its holder at least a project Viewer.
    assert world.explain("alice", "project:web")["role"] == "viewer"
    assert world.check("alice", "asset.view", "asset:web/bot")
    assert not world.check("alice", "asset.run", "asset:web/bot")
    world.verify_clean()


def test_deactivation_suspends_everything_and_reactivation_restores_direct_grants(world, app):
    """active=false: no access at all, direct grants kept; active=true: they come back."""
    alice = world.user("alice")
    world.group("Team", alice)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/search")
    world.set_active(alice, False)
    for permission, resource in [
        ("asset.run", "asset:web/bot"),
        ("asset.edit", "asset:web/search"),
        ("org.view_members", "org"),
        ("project.view", "project:web"),
    ]:
        assert not world.check("alice", permission, resource)
    with app.app_context():
        assert get_session().scalar(select(Grant.role).where(Grant.user_id == alice)) == "admin"
    explained = world.explain("alice", "asset:web/search")
    assert explained["active"] is False and explained["sources"] == []
    suspended = {(s["kind"], s["role"], s["because"]) for s in explained["suspended"]}
    assert ("direct", "admin", "the user is deactivated") in suspended
    text = world.ok("explain", "--org", "acme", "alice", "asset:web/search")
    assert "- admin    granted directly (not in effect: the user is deactivated)" in text
    world.set_active(alice, True)
    assert world.check("alice", "asset.edit", "asset:web/search")
    assert world.check("alice", "asset.run", "asset:web/bot")
    causes = {data["cause"]["type"] for _, data in world.events("access.")}
    assert {"user_deactivated", "user_reactivated"} <= causes
    world.verify_clean()


def test_deleting_a_user_removes_grants_and_memberships(world, app):
    """SCIM DELETE: every grant and access of the user goes, each revocation for that cause.

    Its memberships go too, but the deletion explains what the user loses, group roles and
    direct grants alike (not `membership_removed`).
    """
    alice = world.user("alice")
    world.group("Team", alice)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "project:web")
    assert world.scim.delete(f"/Users/{alice}").status_code == 204
    with app.app_context():
        session = get_session()
        assert session.scalar(select(Grant).where(Grant.user_id == alice)) is None
        assert (
            session.scalar(select(EffectiveAccess).where(EffectiveAccess.user_id == alice)) is None
        )
    revoked = [d for t, d in world.events("access.revoked") if d["user_id"] == alice]
    assert {d["resource"] for d in revoked} >= {"org", "project:web", "asset:web/bot"}
    assert all(d["cause"]["type"] == "user_deleted" for d in revoked)
    world.verify_clean()


def test_deleting_a_group_revokes_what_it_gave(world):
    """SCIM DELETE of a group revokes its members' group-derived roles only, for that cause.

    Members through a nested group lose it too; the deletion, not the membership removals or
    the unnesting it implies, is what every revocation names.
    """
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    nested = world.group("Nested", carol)
    team = world.group("Team", alice, bob, nested)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "bob", "--role", "viewer", "asset:web/bot")
    assert world.check("carol", "asset.run", "asset:web/bot")
    assert world.scim.delete(f"/Groups/{team}").status_code == 204
    assert not world.check("alice", "asset.view", "asset:web/bot")
    assert not world.check("carol", "asset.view", "asset:web/bot")
    assert world.check("bob", "asset.view", "asset:web/bot")
    assert not world.check("bob", "asset.run", "asset:web/bot")
    changed = [d for _, d in world.events("access.") if d["resource"] == "asset:web/bot"]
    assert {d["user_id"] for d in changed[-3:]} == {alice, bob, carol}
    assert {d["cause"]["type"] for d in changed[-3:]} == {"group_deleted"}
    world.verify_clean()


def test_org_admin_cascades_everywhere_and_creator_is_admin(world):
    """Org Admin ⇒ Admin on every project and asset (new ones too); the creator is Admin."""
    world.user("alice")
    world.user("carol")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "org")
    assert world.check("alice", "project.delete", "project:web")
    assert world.check("alice", "asset.delete", "asset:web/search")
    world.ok(
        "asset",
        "create",
        "--org",
        "acme",
        "--project",
        "web",
        "--kind",
        "knowledge",
        "--creator",
        "carol",
        "docs",
    )
    assert world.check("alice", "asset.edit", "asset:web/docs")
    # The creator's admin role is a direct grant (PRODUCT.md), listed like any other.
    assert world.explain("carol", "asset:web/docs")["winner"] == "direct"
    assert world.check("carol", "asset.assign_roles", "asset:web/docs")
    carol_project = world.explain("carol", "project:web")
    assert carol_project["role"] == "viewer"
    assert carol_project["winner_detail"] == (
        "cascade: holding admin on asset:web/docs makes a viewer of its project"
    )
    world.ok("project", "create", "--org", "acme", "mobile")
    assert world.explain("alice", "project:mobile")["role"] == "admin"
    world.verify_clean()


def test_workforce_needs_member_on_every_agent(world):
    """Seed 002's workforce table: run, edit and view need that right on every agent too."""
    world.user("alice")
    world.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "agent", "writer")
    world.ok(
        "asset",
        "create",
        "--org",
        "acme",
        "--project",
        "web",
        "--kind",
        "workforce",
        "--uses",
        "bot,writer",
        "crew",
    )
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/bot")
    assert not world.check("alice", "asset.run", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "viewer", "asset:web/writer")
    assert not world.check("alice", "asset.run", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/writer")
    assert world.check("alice", "asset.run", "asset:web/crew")
    # Editing a workforce needs Admin on it and on all its agents; viewing, Viewer on all.
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/crew")
    assert not world.check("alice", "asset.edit", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/writer")
    assert world.check("alice", "asset.edit", "asset:web/crew")
    world.user("vera")
    world.ok("grant", "--org", "acme", "--user", "vera", "--role", "viewer", "asset:web/crew")
    assert not world.check("vera", "asset.view", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "vera", "--role", "viewer", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "vera", "--role", "viewer", "asset:web/writer")
    assert world.check("vera", "asset.view", "asset:web/crew")
    assert not world.check("vera", "asset.run", "asset:web/crew")


def test_group_roles_switch_ignores_but_keeps_group_roles(world, app):
    """With group roles disabled, group-derived roles stop counting; re-enabled, they return."""
    world.user("alice")
    world.group("Team", world.scim.get("/Users").get_json()["Resources"][0]["id"])
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    world.ok("org", "settings", "--org", "acme", "--group-roles", "off")
    assert not world.check("alice", "asset.run", "asset:web/bot")
    explained = world.explain("alice", "asset:web/bot")
    assert explained["sources"] == [] and explained["role"] is None
    assert explained["suspended"] == [
        {
            "kind": "group",
            "role": "member",
            "detail": "group 'Team'",
            "because": "group roles are off",
        }
    ]
    world.verify_clean()
    world.ok("org", "settings", "--org", "acme", "--group-roles", "on")
    assert world.explain("alice", "asset:web/bot")["suspended"] == []
    assert world.check("alice", "asset.run", "asset:web/bot")
    assert any(d["cause"]["type"] == "switch_toggled" for _, d in world.events("access."))


def test_last_owner_cannot_be_revoked_but_the_idp_is_never_blocked(world):
    """Revoking the last Owner is refused (exit 2); deactivating them over SCIM raises an alert."""
    owner = world.user("olivia")
    world.ok("grant", "--org", "acme", "--user", "olivia", "--role", "owner", "org")
    refused = world.run("revoke", "--org", "acme", "--user", "olivia", "--role", "owner", "org")
    assert refused.exit_code == 2 and "without an active Owner" in refused.output
    assert world.check("olivia", "org.manage_billing", "org")
    world.set_active(owner, False)
    assert [t for t, _ in world.events("org.alert")] == ["org.alert.no_active_owner"]


def test_only_an_owner_gives_the_owner_role_to_a_group(world, app):
    """An org Admin acting may not make a group Owner (the engine's own check); an Owner may."""
    world.user("adam")
    world.user("olivia")
    world.group("Execs")
    world.ok("grant", "--org", "acme", "--user", "adam", "--role", "admin", "org")
    world.ok("grant", "--org", "acme", "--user", "olivia", "--role", "owner", "org")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        execs = session.scalar(select(Group).where(Group.display_name == "Execs"))
        org_res = find_resource(session, org, "org")
        adam = session.scalar(select(User).where(User.user_name == "adam"))
        olivia = session.scalar(select(User).where(User.user_name == "olivia"))
        as_adam = Context(session, get_catalog(), org, user_actor(adam.id))
        with pytest.raises(Forbidden, match=r"org\.assign_owner"):
            grants.give_role(as_adam, execs, "owner", org_res)
        assert grants.give_role(as_adam, execs, "admin", org_res)
        as_olivia = Context(session, get_catalog(), org, user_actor(olivia.id))
        assert grants.give_role(as_olivia, execs, "owner", org_res)


def test_nested_groups_are_transitive_and_cycles_refused(world):
    """A team inside a department inherits the department's roles; a cycle is refused."""
    world.user("alice")
    world.ok("group", "create", "--org", "acme", "--slug", "eng", "Engineering")
    world.ok("group", "create", "--org", "acme", "--slug", "platform", "Platform")
    world.ok("group", "add", "--org", "acme", "platform", "alice")
    world.ok("group", "nest", "--org", "acme", "eng", "platform")
    world.ok("assign", "--org", "acme", "--group", "eng", "--role", "editor", "project:web")
    cycle = world.run("group", "nest", "--org", "acme", "platform", "eng")
    assert cycle.exit_code == 2 and "cannot contain itself" in cycle.output
    explained = json.loads(world.ok("group", "explain", "--org", "acme", "--json", "platform"))
    assert explained["grants"] == [
        {"resource": "project:web", "role": "editor", "through": "Engineering"}
    ]
    assert explained["members"] == ["alice"]
    assert world.check("alice", "project.edit_assets", "project:web")
    world.ok("group", "unnest", "--org", "acme", "eng", "platform")
    assert not world.check("alice", "project.edit_assets", "project:web")
    world.verify_clean()


def test_check_names_the_additive_role_that_grants_and_where_it_comes_from(world):
    """A viewer allowed by an additive role is allowed by that role, not by being a viewer."""
    world.user("alice")
    world.user("bob")
    world.group("Builders", world.user("carol"))
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "agent_creator", "org")
    world.ok("assign", "--org", "acme", "--group", "Builders", "--role", "agent_creator", "org")
    for user, source in (("alice", "direct"), ("carol", "group Builders")):
        result = world.run("check", "--org", "acme", "--json", user, "org.create_agents", "org")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {
            "allowed": True,
            "role": "viewer",
            "additive": ["agent_creator"],
            "source": source,
            "reason": "agent_creator (an additive role) grants org.create_agents",
        }
    assert not world.check("bob", "org.create_agents", "org")


def test_seed_003_example_highest_primary_and_union_of_additive(world, app):
    """Glean's example: direct Admin + group Member + an additive role: Admin, plus the union."""
    alice = world.user("alice")
    world.group("IT-Admins", alice)
    world.group("Content-Team", alice)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "org")
    world.ok("assign", "--org", "acme", "--group", "IT-Admins", "--role", "agent_creator", "org")
    world.ok("assign", "--org", "acme", "--group", "Content-Team", "--role", "member", "org")
    explained = world.explain("alice", "org")
    assert explained["role"] == "admin" and explained["winner"] == "direct"
    assert explained["additive"] == ["agent_creator"]
    assert world.check("alice", "org.create_agents", "org")
    assert {s["role"] for s in explained["sources"]} == {
        "admin",
        "agent_creator",
        "member",
        "viewer",
    }


def test_access_events_carry_cause_and_fold_to_current_access(world, app):
    """Folding access events from the start reproduces the materialised access exactly."""
    alice, bob = world.user("alice"), world.user("bob")
    team = world.group("Team", alice, bob)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "editor", "project:web")
    world.remove_member(team, bob)
    world.set_active(alice, False)
    world.set_active(alice, True)
    folded = {}
    for kind, data in world.events("access."):
        key = (data["user_id"], data["resource_id"])
        assert kind in ("access.granted", "access.changed", "access.revoked")
        assert data["cause"]["actor"]
        folded[key] = (data["new_role"], tuple(data["new_additive"]))
        if data["new_role"] is None and not data["new_additive"]:
            del folded[key]
    with app.app_context():
        rows = get_session().scalars(select(EffectiveAccess))
        assert folded == {(r.user_id, r.resource_id): (r.role, tuple(r.additive)) for r in rows}
    dsync = [t for t, _ in world.events("dsync.")]
    assert dsync.count("dsync.user.created") == 2 and "dsync.group.user_removed" in dsync


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--org", "acme", "nobody", "asset.run", "asset:web/bot"),
        ("check", "--org", "acme", "alice", "asset.fly", "asset:web/bot"),
        ("check", "--org", "acme", "alice", "project.view", "asset:web/bot"),
        ("check", "--org", "acme", "alice", "asset.run", "asset:web/nope"),
        ("check", "--org", "acme", "alice", "asset.run", "shelf:web"),
        ("grant", "--org", "acme", "--user", "alice", "--role", "editor", "asset:web/bot"),
        ("assign", "--org", "acme", "--group", "Nope", "--role", "admin", "org"),
        ("explain", "--org", "nope", "alice", "org"),
        ("project", "create", "--org", "acme", "web"),
        ("project", "create", "--org", "acme", "a/b"),
        ("project", "create", "--org", "acme", "x" * 101),
        ("asset", "create", "--org", "acme", "--project", "web", "--kind", "agent", "a:b"),
    ],
)
def test_bad_input_exits_2(world, args):
    """Unknown users, permissions, roles, resources, groups and orgs are bad input."""
    world.user("alice")
    result = world.run(*args)
    assert result.exit_code == 2, result.output


def test_verify_reports_drift_and_exits_1(world, app):
    """A materialised row that no source explains is drift."""
    alice = world.user("alice")
    with app.app_context():
        session = get_session()
        row = session.scalar(select(EffectiveAccess).where(EffectiveAccess.user_id == alice))
        row.role = "owner"
        session.commit()
    result = world.run("verify", "--org", "acme", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)[0]["materialised"] == ["owner", []]


def test_verify_reports_a_row_whose_source_no_longer_holds(world, app):
    """The source `check` prints is materialised too: a wrong one is drift, role alike or not."""
    alice = world.user("alice")
    world.group("Engineering", alice)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "admin", "org")
    with app.app_context():
        session = get_session()
        row = session.scalar(select(EffectiveAccess).where(EffectiveAccess.user_id == alice))
        row.source = "direct"
        session.commit()
    result = world.run("verify", "--org", "acme", "--json")
    assert result.exit_code == 1
    [drift] = json.loads(result.stdout)  # the org's "no active Owner" warning is on stderr
    assert drift["materialised"] == drift["recomputed"] == ["admin", []]
    assert (drift["materialised_source"], drift["recomputed_source"]) == (
        "direct",
        "group Engineering",
    )


def test_renaming_a_group_renames_the_source_its_members_see(world, app):
    """`check` names the group a role came from by its name now, not the one it had."""
    alice = world.user("alice")
    group = world.group("Engineering", alice)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "admin", "org")
    with app.app_context():
        last_event = get_session().scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    rename = [{"op": "replace", "path": "displayName", "value": "Platform"}]
    assert world.scim.patch(f"/Groups/{group}", rename).status_code in (200, 204)
    checked = world.run("check", "--org", "acme", "alice", "org.create_projects", "org")
    assert checked.exit_code == 0 and "(role: admin, source: group Platform)" in checked.output
    world.ok("verify", "--org", "acme")
    with app.app_context():
        later = get_session().scalars(select(Event.type).where(Event.id > last_event)).all()
    assert later == ["dsync.group.updated"]  # a new label is no change of access


def test_catalog_lists_permissions_with_roles(world):
    """`rolecall catalog` names every permission of PRODUCT.md with the roles holding it."""
    output = world.ok("catalog")
    for permission in [
        "org.manage_billing",
        "org.create_projects",
        "project.view",
        "project.assign_roles",
        "project.delete",
        "asset.view",
        "asset.run",
        "asset.edit",
        "asset.delete",
        "asset.assign_roles",
    ]:
        assert f"{permission}\t" in output
    assert "asset.run\tasset:admin, asset:member" in output


def test_local_groups_hold_any_org_user_and_scim_groups_stay_read_only(world, app):
    """Local groups (name, slug, description) hold any org user; IdP groups stay read-only."""
    world.user("alice")
    other = make_directory(app, org_slug="acme", name="entra")
    ScimClient(app.test_client(), other.token).create_user("bob")
    world.group("FromIdP")
    world.ok(
        "group",
        "create",
        "--org",
        "acme",
        "--slug",
        "reviewers",
        "--description",
        "Code review",
        "Reviewers",
    )
    world.ok("group", "add", "--org", "acme", "reviewers", "alice", "bob")
    world.ok("assign", "--org", "acme", "--group", "Reviewers", "--role", "viewer", "asset:web/bot")
    with app.app_context():
        local = get_session().scalar(select(Group).where(Group.slug == "reviewers"))
        assert (local.display_name, local.description, local.directory_id) == (
            "Reviewers",
            "Code review",
            None,
        )
    refused = world.run("group", "add", "--org", "acme", "FromIdP", "alice")
    assert refused.exit_code == 2 and "managed by its IdP" in refused.output
    assert world.check("alice", "asset.view", "asset:web/bot")
    assert world.check("bob", "asset.view", "asset:web/bot")
    world.ok("group", "rename", "--org", "acme", "reviewers", "Code reviewers")
    listed = world.ok("group", "list", "--org", "acme")
    assert "Code reviewers\tlocal:reviewers" in listed and "FromIdP\tidp" in listed
    deleted = world.ok("group", "delete", "--org", "acme", "--yes", "reviewers")
    assert "revokes viewer on asset:web/bot from its members" in deleted
    assert not world.check("bob", "asset.view", "asset:web/bot")
    assert [t for t, _ in world.events("group.")] == [
        "group.created",
        "group.user_added",
        "group.user_added",
        "group.updated",
        "group.user_removed",
        "group.user_removed",
        "group.deleted",
    ]
    world.verify_clean()


def test_admin_lowering_an_assignment_that_removes_their_own_admin_must_confirm(world, app):
    """Unassigning the group that makes the acting admin an Admin needs confirm=True."""
    adam = world.user("adam")
    world.group("Leads", adam)
    world.ok("assign", "--org", "acme", "--group", "Leads", "--role", "admin", "project:web")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        catalog = get_catalog()
        leads = session.scalar(select(Group).where(Group.display_name == "Leads"))
        web = find_resource(session, org, "project:web")
        as_adam = Context(session, catalog, org, user_actor(adam))
        with pytest.raises(NeedsConfirmation):
            grants.take_role(as_adam, leads, "admin", web)
        session.rollback()
        assert grants.take_role(as_adam, leads, "admin", web, confirmed=True)
        session.commit()
    assert not world.check("adam", "project.assign_roles", "project:web")


def test_scim_groups_whose_members_are_groups_are_followed(world):
    """A SCIM group listing a group as member passes its roles down; cycles are refused."""
    alice = world.user("alice")
    team = world.group("Platform", alice)
    department = world.scim.create_group("Engineering", [team])["id"]
    listed = world.scim.get(f"/Groups/{department}").get_json()["members"]
    assert [(m["value"], m["type"], m["display"]) for m in listed] == [(team, "Group", "Platform")]
    assert listed[0]["$ref"].endswith(f"/Groups/{team}")
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    assert world.check("alice", "project.edit_assets", "project:web")
    cycle = world.scim.patch(
        f"/Groups/{team}", [{"op": "add", "path": "members", "value": [{"value": department}]}]
    )
    assert cycle.status_code == 400 and cycle.get_json()["scimType"] == "invalidValue"
    world.remove_member(department, team)
    assert not world.check("alice", "project.edit_assets", "project:web")
    assert [t for t, _ in world.events("group.")] == ["group.nested", "group.unnested"]
    assert "group_unnested" in [d["cause"]["type"] for _, d in world.events("access.revoked")]
    world.verify_clean()


def test_local_users_hold_the_default_role_and_can_be_granted(world, app):
    """A local user (no IdP) is a principal like any other."""
    output = world.ok(
        "user", "create", "--org", "acme", "--display-name", "C. Tractor", "contractor"
    )
    user_id = output.strip().rpartition(" ")[2]
    with app.app_context():
        assert get_session().get(User, user_id).directory_id is None
    assert world.explain("contractor", "org")["role"] == "viewer"
    world.ok("grant", "--org", "acme", "--user", user_id, "--role", "member", "asset:web/bot")
    assert world.check("contractor", "asset.run", "asset:web/bot")
    assert f"{user_id}\tcontractor\t-\tactive" in world.ok("user", "list", "--org", "acme")
    assert [t for t, _ in world.events("user.")] == ["user.created"]
    world.verify_clean()


def test_catalog_change_is_applied_by_recompute_with_its_cause(world, app, tmp_path):
    """After the catalog changes, `rolecall recompute` applies it and says why in the events."""
    world.user("alice")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
    assert world.explain("alice", "asset:web/bot")["role"] == "admin"
    # The deployment decides that project editors no longer administer the assets.
    data = json.loads(DEFAULT_CATALOG.read_text())
    data["cascades"]["project_roles_admin_of_assets"] = ["admin"]
    changed = tmp_path / "catalog.json"
    changed.write_text(json.dumps(data))
    original = app.extensions["rolecall.catalog"]
    app.extensions["rolecall.catalog"] = load_catalog(changed)
    try:
        assert world.run("verify", "--org", "acme").exit_code == 1  # drift until recomputed
        assert "access change(s)" in world.ok("recompute", "--org", "acme")
        world.verify_clean()
        assert not world.check("alice", "asset.edit", "asset:web/bot")
    finally:
        app.extensions["rolecall.catalog"] = original
    revoked = [d for _, d in world.events("access.revoked") if d["resource"] == "asset:web/bot"]
    assert [d["cause"]["type"] for d in revoked] == ["catalog_changed"]


def test_verify_warns_about_an_org_without_active_owner(world):
    """The ownerless alert is visible to operators: verify prints it (it is not drift)."""
    world.user("alice")
    result = world.run("verify", "--org", "acme")
    assert result.exit_code == 0
    assert "has no active Owner" in result.stderr
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "owner", "org")
    assert "has no active Owner" not in world.run("verify", "--org", "acme").stderr


def test_org_settings_change_the_default_role_and_the_switch(world):
    """`rolecall org settings` sets the default role (recomputed for all) and the switch."""
    world.user("alice")
    world.group("Team", world.scim.get("/Users").get_json()["Resources"][0]["id"])
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    shown = world.ok("org", "settings", "--org", "acme")
    assert shown.splitlines() == ["default_role=viewer", "group_roles=on"]
    world.ok("org", "settings", "--org", "acme", "--default-role", "member", "--group-roles", "off")
    assert world.explain("alice", "org")["role"] == "member"
    assert not world.check("alice", "asset.run", "asset:web/bot")
    world.ok("org", "settings", "--org", "acme", "--default-role", "none", "--group-roles", "on")
    assert world.explain("alice", "org")["role"] is None
    assert world.check("alice", "asset.run", "asset:web/bot")
    assert (
        world.run("org", "settings", "--org", "acme", "--default-role", "agent_creator").exit_code
        == 2
    )
    assert world.run("org", "settings", "--org", "acme", "--default-role", "editor").exit_code == 2
    world.verify_clean()
