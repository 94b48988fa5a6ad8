"""Issue 8's findings, each a test: the rules hold on every path through the one door."""

import json

import pytest
from sqlalchemy import func, select

from app.cli import cli
from rbac import lookups, tenancy
from rbac.admin import grants, resources
from rbac.context import Context, user_actor
from rbac.errors import Forbidden, InvalidValue
from rbac.models import EffectiveAccess, Grant, User
from rbac.resources import find_resource
from tests.conftest import (
    ScimClient,
    fold_access_events,
    make_directory,
    materialised_access,
)
from web.db import get_catalog, get_session

# -- 1. the owner rule, applied once from what recompute saw ---------------------------------


def _owner_through_group(world) -> str:
    """Make olivia the org's only Owner, through the local group Execs; return her id."""
    olivia = world.user("olivia")
    world.ok("group", "create", "--org", "acme", "--slug", "execs", "Execs")
    world.ok("group", "add", "--org", "acme", "execs", "olivia")
    world.ok("assign", "--org", "acme", "--group", "Execs", "--role", "owner", "org")
    assert world.explain("olivia", "org")["role"] == "owner"
    return olivia


def test_switching_group_roles_off_cannot_remove_the_last_owner(world):
    """--group-roles off with the only Owner holding it through a group: refused, no change."""
    _owner_through_group(world)
    refused = world.run("org", "settings", "--org", "acme", "--group-roles", "off")
    assert refused.exit_code == 2 and "without an active Owner" in refused.output
    assert "group_roles=on" in world.ok("org", "settings", "--org", "acme")
    assert world.check("olivia", "org.manage_billing", "org")
    assert not world.events("org.alert")
    world.verify_clean()


def test_emptying_the_local_group_that_carries_owner_is_refused(world):
    """Removing the last Owner from the local group that makes them Owner is refused."""
    _owner_through_group(world)
    refused = world.run("group", "remove", "--org", "acme", "execs", "olivia")
    assert refused.exit_code == 2 and "without an active Owner" in refused.output
    deleted = world.run("group", "delete", "--org", "acme", "--yes", "execs")
    assert deleted.exit_code == 2 and "without an active Owner" in deleted.output
    assert world.check("olivia", "org.manage_billing", "org")
    world.verify_clean()


def test_the_default_role_cannot_be_owner_nor_remove_the_last_owner(world):
    """--default-role owner is refused; lowering a default that made the only Owner is too."""
    world.user("alice")
    refused = world.run("org", "settings", "--org", "acme", "--default-role", "owner")
    assert refused.exit_code == 2 and "every user would own" in refused.output
    assert world.explain("alice", "org")["role"] == "viewer"


def test_an_idp_change_is_applied_and_raises_the_alert_once(world):
    """Removing the only Owner from their SCIM group is applied, with one alert event."""
    olivia = world.user("olivia")
    team = world.group("Execs", olivia)
    world.ok("assign", "--org", "acme", "--group", "Execs", "--role", "owner", "org")
    world.remove_member(team, olivia)
    assert not world.check("olivia", "org.manage_billing", "org")
    assert [t for t, _ in world.events("org.alert")] == ["org.alert.no_active_owner"]
    world.verify_clean()


# -- 2. the workforce rule concerns run, edit and view only ----------------------------------


def _crew(world):
    world.user("alice")
    world.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "agent", "writer")
    world.ok(
        "asset", "create", "--org", "acme", "--project", "web", "--kind", "workforce",
        "--uses", "bot,writer", "crew",
    )  # fmt: skip


def test_workforce_rule_spares_delete_assign_and_audit(world):
    """Admin on a workforce, Member on one agent: delete, assign and audit are allowed."""
    _crew(world)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/bot")
    for permission in ("asset.delete", "asset.assign_roles", "asset.view_audit_logs"):
        assert world.check("alice", permission, "asset:web/crew"), permission
    for permission in ("asset.run", "asset.edit", "asset.view"):
        assert not world.check("alice", permission, "asset:web/crew"), permission


def test_explain_says_what_the_workforce_rule_withholds(world):
    """Explain keeps the role and names every permission the agents withhold, and why."""
    _crew(world)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/writer")
    explained = world.explain("alice", "asset:web/crew")
    assert explained["role"] == "admin"
    assert set(explained["workforce_rule"]) == {"asset.edit"}
    assert "agent 'bot'" in explained["workforce_rule"]["asset.edit"]
    text = world.ok("explain", "--org", "acme", "alice", "asset:web/crew")
    assert "withheld asset.edit: the workforce uses agent 'bot'" in text
    assert world.check("alice", "asset.run", "asset:web/crew")


# -- 3. the creator's admin role is a direct grant -----------------------------------------


def test_the_creators_admin_role_is_a_revocable_direct_grant(world, app):
    """Listed as a grant, revocable, and kept through IdP changes like any direct grant."""
    carol = world.user("carol")
    world.ok(
        "asset", "create", "--org", "acme", "--project", "web", "--kind", "tool",
        "--creator", "carol", "docs",
    )  # fmt: skip
    with app.app_context():
        grant = get_session().scalar(select(Grant).where(Grant.user_id == carol))
        assert (grant.role, grant.granted_by) == ("admin", "cli")
    world.set_active(carol, False)
    world.set_active(carol, True)
    assert world.check("carol", "asset.assign_roles", "asset:web/docs")
    output = world.ok(
        "revoke", "--org", "acme", "--user", "carol", "--role", "admin", "asset:web/docs"
    )
    assert "(already)" not in output
    assert not world.check("carol", "asset.view", "asset:web/docs")
    revoked = [d for _, d in world.events("access.revoked") if d["resource"] == "asset:web/docs"]
    assert revoked[-1]["cause"]["type"] == "direct_revoke"
    world.verify_clean()


# -- 4. the catalog is coherent: see tests/rbac/test_catalog.py -----------------------------------

# -- 5. events shaped for consumers ---------------------------------------------------------


def test_directory_events_carry_workos_shaped_objects(world):
    """dsync.* events carry the user and group objects; access events name user and resource."""
    alice = world.scim.create_user(
        "alice@acme.test",
        name={"givenName": "Alice", "familyName": "Liddell"},
        emails=[{"value": "Alice@Acme.test", "type": "work", "primary": True}],
        externalId="ext-1",
    )["id"]
    team = world.group("Team", alice)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    created = dict(world.events("dsync.user.created"))["dsync.user.created"]
    assert {k: created[k] for k in ("id", "username", "first_name", "last_name", "state")} == {
        "id": alice,
        "username": "alice@acme.test",
        "first_name": "Alice",
        "last_name": "Liddell",
        "state": "active",
    }
    assert created["idp_id"] == "ext-1" and created["directory_id"] == world.directory.id
    # As sent, but for the domain, which RFC 7643 §4.1.2 canonicalizes.
    assert created["emails"] == [{"value": "Alice@acme.test", "type": "work", "primary": True}]
    added = dict(world.events("dsync.group.user_added"))["dsync.group.user_added"]
    # The member is read by its columns, not loaded as the creation's row was: the same object.
    assert added["user"] == {k: v for k, v in created.items() if k != "actor"}
    assert added["group"] == {**added["group"], "id": team, "name": "Team", "local": False}
    granted = [d for _, d in world.events("access.granted") if d["resource"] == "asset:web/bot"]
    assert granted[0]["user"] == {
        "id": alice,
        "username": "alice@acme.test",
        "email": "Alice@acme.test",
    }
    world.set_active(alice, False)
    updated = [d for t, d in world.events("dsync.user.updated")]
    assert updated[-1]["state"] == "inactive"
    world.scim.delete(f"/Users/{alice}")
    deleted = dict(world.events("dsync.user.deleted"))["dsync.user.deleted"]
    assert deleted["username"] == "alice@acme.test"
    removed = dict(world.events("dsync.group.user_removed"))["dsync.group.user_removed"]
    assert removed["user"]["username"] == "alice@acme.test"


def test_deleting_a_nested_group_unnests_it_from_its_parent(world):
    """SCIM DELETE of a child group writes group.unnested for its parent, and revokes."""
    alice = world.user("alice")
    child = world.group("Platform", alice)
    parent = world.scim.create_group("Engineering", [child])["id"]
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    assert world.check("alice", "project.edit_assets", "project:web")
    assert world.scim.delete(f"/Groups/{child}").status_code == 204
    unnested = [d for t, d in world.events("group.unnested")]
    assert [(d["group"]["id"], d["child"]["id"]) for d in unnested] == [(parent, child)]
    assert unnested[0]["child"]["name"] == "Platform"
    assert not world.check("alice", "project.edit_assets", "project:web")
    world.verify_clean()


# -- 6. names that are in several directories ----------------------------------------------


def test_a_username_in_two_directories_is_named_by_id_or_directory(world, app):
    """The same userName in two directories: a clear exit 2, then --directory or the id works."""
    world.user("sam")
    other = make_directory(app, org_slug="acme", name="entra")
    sam_entra = ScimClient(app.test_client(), other.token).create_user("sam")["id"]
    ambiguous = world.run(
        "grant", "--org", "acme", "--user", "sam", "--role", "member", "asset:web/bot"
    )
    assert ambiguous.exit_code == 2 and "--directory" in ambiguous.output
    world.ok(
        "grant", "--org", "acme", "--user", "sam", "--directory", "entra", "--role", "member",
        "asset:web/bot",
    )  # fmt: skip
    with app.app_context():
        holders = get_session().scalars(
            select(EffectiveAccess.user_id).where(EffectiveAccess.role == "member")
        )
        assert list(holders) == [sam_entra]
    world.ok("grant", "--org", "acme", "--user", sam_entra, "--role", "admin", "asset:web/bot")
    assert "granted directly" in world.ok(
        "explain", "--org", "acme", "--directory", "entra", "sam", "asset:web/bot"
    )


# -- authorisation of admin actions by the engine ------------------------------------------


def test_a_project_admin_manages_their_project_and_nothing_else(world, app):
    """Seed 002: project admins set roles in their project; org roles and other projects: no."""
    world.user("pat")
    world.user("alice")
    world.ok("project", "create", "--org", "acme", "mobile")
    world.ok("grant", "--org", "acme", "--user", "pat", "--role", "admin", "project:web")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        pat = lookups.find_user(session, org, "pat")
        alice = lookups.find_user(session, org, "alice")
        as_pat = Context(session, get_catalog(), org, user_actor(pat.id))
        assert grants.give_role(as_pat, alice, "editor", find_resource(session, org, "project:web"))
        assert grants.give_role(
            as_pat, alice, "member", find_resource(session, org, "asset:web/bot")
        )
        session.commit()
        for address, role in (("project:mobile", "viewer"), ("org", "admin")):
            with pytest.raises(Forbidden, match="pat may not"):
                grants.give_role(as_pat, alice, role, find_resource(session, org, address))
            session.rollback()
        assert session.scalar(select(User.id).where(User.user_name == "alice")) == alice.id
    assert world.check("alice", "project.edit_assets", "project:web")
    assert not world.check("alice", "project.view", "project:mobile")


def test_catalog_shows_role_descriptions(world):
    """`rolecall catalog` shows each role with its description from seed 002."""
    output = world.ok("catalog")
    assert "role\tproject:chat\tRelevance Chat only" in output
    assert "role\torganization:agent_creator (additive)" in output


def test_group_explain_lists_grants_through_parents(world):
    """`rolecall group explain` lists a group's own and inherited roles, and its members."""
    world.user("alice")
    world.ok("group", "create", "--org", "acme", "--slug", "eng", "Engineering")
    world.ok("group", "create", "--org", "acme", "--slug", "web-team", "Web team")
    world.ok("group", "nest", "--org", "acme", "eng", "web-team")
    world.ok("group", "add", "--org", "acme", "web-team", "alice")
    world.ok("assign", "--org", "acme", "--group", "eng", "--role", "viewer", "project:web")
    world.ok("assign", "--org", "acme", "--group", "web-team", "--role", "member", "asset:web/bot")
    text = world.ok("group", "explain", "--org", "acme", "web-team")
    assert "viewer on project:web (through 'Engineering')" in text
    assert "member on asset:web/bot" in text and "members: alice" in text
    document = json.loads(world.ok("group", "explain", "--org", "acme", "--json", "eng"))
    assert document["members"] == ["alice"] and document["local"] is True


# -- deleting projects and assets, changing a workforce's agents -----------------------------


def test_deleting_a_project_revokes_every_role_on_it_and_its_assets(world, app):
    """Grants, assignments and cascades on the project and its assets all end, with events."""
    alice, bob = world.user("alice"), world.user("bob")
    world.group("Engineering", bob)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/bot")
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    assert world.explain("alice", "project:web")["role"] == "viewer"  # implied by the asset
    prompt = world.runner.invoke(cli, ["project", "delete", "--org", "acme", "web"], input="n\n")
    assert prompt.exit_code == 1 and "from 2 user(s)" in prompt.output
    output = world.ok("project", "delete", "--org", "acme", "--yes", "web")
    assert "project:web deleted" in output
    revoked = {(e["user_id"], e["resource"]) for _, e in world.events("access.revoked")}
    assert revoked == {
        (alice, "asset:web/bot"),
        (alice, "project:web"),
        (bob, "project:web"),
        (bob, "asset:web/bot"),
        (bob, "asset:web/search"),
    }
    assert [e["resource"] for _, e in world.events("resource.deleted")] == ["project:web"]
    assert (
        world.run("check", "--org", "acme", "alice", "project.view", "project:web").exit_code == 2
    )
    world.verify_clean()
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        assert fold_access_events(session, org.id) == materialised_access(session, org.id)
        assert session.scalar(select(func.count()).select_from(Grant)) == 0


def test_deleting_an_asset_recomputes_the_project_role_it_implied(world):
    """An asset role implies viewer on its project: deleting the asset takes that back too."""
    world.user("alice")
    world.ok("org", "settings", "--org", "acme", "--default-role", "none")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/bot")
    assert world.explain("alice", "project:web")["role"] == "viewer"
    world.ok("asset", "delete", "--org", "acme", "--project", "web", "--yes", "bot")
    assert world.explain("alice", "project:web")["role"] is None
    assert world.check("alice", "asset.view", "asset:web/search") is False
    world.verify_clean()


def test_deleting_an_agent_takes_it_out_of_its_workforces(world):
    """A workforce stops using a deleted agent, so the workforce rule stops naming it."""
    _crew(world)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/writer")
    assert not world.check("alice", "asset.edit", "asset:web/crew")  # bot withholds it
    world.ok("asset", "delete", "--org", "acme", "--project", "web", "--yes", "bot")
    assert world.check("alice", "asset.edit", "asset:web/crew")
    world.verify_clean()


def test_setting_a_workforce_agents_is_authorised_and_recorded(world, app):
    """Replacing the agents is an asset edit (a project member may not) and an event."""
    _crew(world)
    world.user("pat")
    world.ok("grant", "--org", "acme", "--user", "pat", "--role", "member", "project:web")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        crew = find_resource(session, org, "asset:web/crew")
        writer = find_resource(session, org, "asset:web/writer")
        as_pat = Context(
            session, get_catalog(), org, user_actor(lookups.find_user(session, org, "pat").id)
        )
        with pytest.raises(Forbidden, match=r"pat may not asset\.edit"):
            resources.set_workforce_agents(as_pat, crew, [writer])
        session.rollback()
        operator = Context(session, get_catalog(), org)
        with pytest.raises(InvalidValue, match="only a workforce"):
            resources.set_workforce_agents(operator, writer, [])
        resources.set_workforce_agents(operator, crew, [writer])
        session.commit()
    assert [e["uses"] for _, e in world.events("resource.updated")] == [["writer"]]
    explained = world.explain("alice", "asset:web/crew")
    assert "bot" not in json.dumps(explained["workforce_rule"])


def test_a_project_admin_deletes_assets_of_their_project_without_confirming(world, app):
    """Deleting what one administers is not 'losing one's own access' by mistake."""
    world.user("pat")
    world.ok("project", "create", "--org", "acme", "mobile")
    world.ok("grant", "--org", "acme", "--user", "pat", "--role", "admin", "project:web")
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        as_pat = Context(
            session, get_catalog(), org, user_actor(lookups.find_user(session, org, "pat").id)
        )
        resources.delete_resource(as_pat, find_resource(session, org, "asset:web/bot"))
        with pytest.raises(Forbidden, match=r"pat may not project\.delete on project:mobile"):
            resources.delete_resource(as_pat, find_resource(session, org, "project:mobile"))
        session.rollback()
        resources.delete_resource(as_pat, find_resource(session, org, "asset:web/search"))
        session.commit()
        with pytest.raises(InvalidValue, match="organization itself"):
            resources.delete_resource(
                Context(session, get_catalog(), org), find_resource(session, org, "org")
            )
    world.verify_clean()
