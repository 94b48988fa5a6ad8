"""RBAC rules on a real database, driven through SCIM and the `rolecall` CLI as operators do."""

import json

import pytest
from sqlalchemy import select

from app.cli import cli
from app.db import get_catalog, get_session
from rbac import assignments, queries, tenancy
from rbac.access import find_resource, read_events
from rbac.catalog import DEFAULT_CATALOG, load_catalog
from rbac.errors import NeedsConfirmation, Refused
from rbac.models import EffectiveAccess, Grant, Group, User
from tests.conftest import ScimClient, make_directory


class World:
    """An organization with an Okta directory, its SCIM client and the CLI."""

    def __init__(self, app, client):
        self.app = app
        self.directory = make_directory(app, org_slug="acme", name="okta")
        self.scim = ScimClient(client, self.directory.token)
        self.runner = app.test_cli_runner()

    def run(self, *args):
        """Run `rolecall ARGS` and return the click result."""
        return self.runner.invoke(cli, list(args), catch_exceptions=False)

    def ok(self, *args):
        """Run a command that must succeed; return its output."""
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.output

    def check(self, user, permission, resource) -> bool:
        """Return check's verdict, after asserting its exit code matches its JSON."""
        result = self.run("check", "--org", "acme", "--json", user, permission, resource)
        assert result.exit_code in (0, 1), result.output
        assert json.loads(result.output)["allowed"] == (result.exit_code == 0)
        return result.exit_code == 0

    def explain(self, user, resource) -> dict:
        """Return explain's JSON."""
        return json.loads(self.ok("explain", "--org", "acme", "--json", user, resource))

    def user(self, name, **attributes) -> str:
        """Provision a user over SCIM; return its id."""
        return self.scim.create_user(name, **attributes)["id"]

    def group(self, name, *member_ids) -> str:
        """Provision a group over SCIM; return its id."""
        return self.scim.create_group(name, list(member_ids))["id"]

    def remove_member(self, group_id, user_id):
        """Remove one member by SCIM PATCH."""
        response = self.scim.patch(
            f"/Groups/{group_id}", [{"op": "remove", "path": f'members[value eq "{user_id}"]'}]
        )
        assert response.status_code == 204

    def set_active(self, user_id, active: bool):
        """Deactivate or reactivate a user by SCIM PATCH (Okta's form)."""
        response = self.scim.patch(
            f"/Users/{user_id}", [{"op": "replace", "value": {"active": active}}]
        )
        assert response.status_code == 200

    def verify_clean(self):
        """Assert that materialised access equals a recomputation from the base tables."""
        result = self.run("verify", "--org", "acme")
        assert result.exit_code == 0, result.output

    def events(self, kind_prefix=""):
        """Return the organization's events of a kind."""
        with self.app.app_context():
            session = get_session()
            org = tenancy.get_organization(session, "acme")
            return [
                (e.type, e.data)
                for e in read_events(session, org.id, 0, 10_000)
                if e.type.startswith(kind_prefix)
            ]


@pytest.fixture
def world(app, client):
    """A fresh organization with one project (web) holding an agent (bot) and a tool (search)."""
    w = World(app, client)
    w.ok("project", "create", "--org", "acme", "web")
    w.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "agent", "bot")
    w.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "tool", "search")
    return w


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
    world.set_active(alice, True)
    assert world.check("alice", "asset.edit", "asset:web/search")
    assert world.check("alice", "asset.run", "asset:web/bot")
    causes = {data["cause"]["type"] for _, data in world.events("access.")}
    assert {"user_deactivated", "user_reactivated"} <= causes
    world.verify_clean()


def test_deleting_a_user_removes_grants_and_memberships(world, app):
    """SCIM DELETE: every grant and access of the user goes, with revocation events."""
    alice = world.user("alice")
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
    """SCIM DELETE of a group revokes its members' group-derived roles only."""
    alice, bob = world.user("alice"), world.user("bob")
    team = world.group("Team", alice, bob)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "bob", "--role", "viewer", "asset:web/bot")
    assert world.scim.delete(f"/Groups/{team}").status_code == 204
    assert not world.check("alice", "asset.view", "asset:web/bot")
    assert world.check("bob", "asset.view", "asset:web/bot")
    assert not world.check("bob", "asset.run", "asset:web/bot")
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
    assert world.explain("carol", "asset:web/docs")["winner"] == "creator"
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
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        assignments.set_group_roles_enabled(session, get_catalog(), org, False, "test")
        session.commit()
    assert not world.check("alice", "asset.run", "asset:web/bot")
    world.verify_clean()
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        assignments.set_group_roles_enabled(session, get_catalog(), org, True, "test")
        session.commit()
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
    """An org Admin acting may not make a group Owner; an Owner may."""
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
        with pytest.raises(Refused):
            assignments.assign_group(
                session, get_catalog(), org, execs, "owner", org_res, "t", adam
            )
        assert assignments.assign_group(
            session, get_catalog(), org, execs, "owner", org_res, "t", olivia
        )


def test_nested_groups_are_transitive_and_cycles_refused(world, app):
    """A team inside a department inherits the department's roles; a cycle is refused."""
    alice = world.user("alice")
    world.group("Platform", alice)
    world.group("Engineering")
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        eng = session.scalar(select(Group).where(Group.display_name == "Engineering"))
        platform = session.scalar(select(Group).where(Group.display_name == "Platform"))
        assignments.add_child_group(session, get_catalog(), org, eng, platform, "test")
        session.commit()
        with pytest.raises(Refused):
            assignments.add_child_group(session, get_catalog(), org, platform, eng, "test")
        session.rollback()
        grants = queries.explain_group(session, org, platform)["grants"]
        assert grants == [{"resource": "project:web", "role": "editor", "through": eng.id}]
    assert world.check("alice", "project.edit_assets", "project:web")
    world.verify_clean()


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
    alice = world.user("alice")
    other = make_directory(app, org_slug="acme", name="entra")
    bob = ScimClient(app.test_client(), other.token).create_user("bob")["id"]
    scim_group = world.group("FromIdP")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        catalog = get_catalog()
        local = assignments.create_local_group(
            session, org, "Reviewers", "reviewers", "Code review"
        )
        assignments.set_local_members(session, catalog, org, local, [alice, bob], "admin:root")
        assignments.assign_group(
            session,
            catalog,
            org,
            local,
            "viewer",
            find_resource(session, org, "asset:web/bot"),
            "t",
        )
        session.commit()
        assert (local.slug, local.description, local.directory_id) == (
            "reviewers",
            "Code review",
            None,
        )
        with pytest.raises(Refused):
            assignments.set_local_members(
                session, catalog, org, session.get(Group, scim_group), [alice], "admin:root"
            )
    assert world.check("alice", "asset.view", "asset:web/bot")
    assert world.check("bob", "asset.view", "asset:web/bot")
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
        acting = session.get(User, adam)
        with pytest.raises(NeedsConfirmation):
            assignments.unassign_group(session, catalog, org, leads, "admin", web, "t", acting)
        session.rollback()
        assert assignments.unassign_group(
            session, catalog, org, leads, "admin", web, "t", acting, confirm=True
        )
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
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        user = assignments.create_local_user(
            session, get_catalog(), org, "contractor", "admin:root"
        )
        session.commit()
        assert user.directory_id is None
    assert world.explain("contractor", "org")["role"] == "viewer"
    world.ok("grant", "--org", "acme", "--user", "contractor", "--role", "member", "asset:web/bot")
    assert world.check("contractor", "asset.run", "asset:web/bot")
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
