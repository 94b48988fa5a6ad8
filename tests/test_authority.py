"""Authority is judged on the actor's access before the change, whatever route a role takes.

Issue 22's reproductions, each a test: an org Admin must never give or take a role its own
roles do not cover (seed 003: "Admins cannot downgrade or remove Super Admin permissions"),
whether directly, through a group's members, through nesting, or by deactivating someone.
"""

import pytest
from sqlalchemy import select

from app.db import get_catalog, get_session
from rbac import lookups, tenancy
from rbac.admin import grants, principals
from rbac.context import Context, user_actor
from rbac.errors import Forbidden
from rbac.models import EffectiveAccess
from rbac.resources import find_resource, org_resource


@pytest.fixture
def staff(world):
    """An Owner (olivia), an Admin (alice), bob, and Execs: a local group holding Owner."""
    for name in ("olivia", "alice", "bob"):
        world.ok("user", "create", "--org", "acme", name)
    world.ok("grant", "--org", "acme", "--user", "olivia", "--role", "owner", "org")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "org")
    world.ok("group", "create", "--org", "acme", "--slug", "execs", "Execs")
    world.ok("group", "add", "--org", "acme", "execs", "olivia")
    world.ok("assign", "--org", "acme", "--group", "Execs", "--role", "owner", "org")
    return world


def _as(app, name):
    """A context acting as the named user of acme, with its session."""
    session = get_session()
    org = tenancy.get_organization(session, "acme")
    actor = user_actor(lookups.find_user(session, org, name).id)
    return Context(session, get_catalog(), org, actor)


def _org_roles(ctx) -> dict[str, str]:
    """Everyone's materialised org role, by userName."""
    org = org_resource(ctx.session, ctx.org)
    rows = ctx.session.execute(
        select(EffectiveAccess.user_id, EffectiveAccess.role).where(
            EffectiveAccess.resource_id == org.id
        )
    )
    return {lookups.find_user(ctx.session, ctx.org, uid).user_name: role for uid, role in rows}


def _refused(ctx, operation, *args, match="may not give or take owner"):
    """Assert the operation is refused and leaves the org roles as they were."""
    before = _org_roles(ctx)
    with pytest.raises(Forbidden, match=match):
        operation(ctx, *args)
    ctx.session.rollback()
    assert _org_roles(ctx) == before


def test_an_admin_cannot_add_themselves_to_a_group_holding_owner(staff, app):
    """The first reproduction: alice joins Execs and would be judged as the Owner she became."""
    with app.app_context():
        ctx = _as(app, "alice")
        execs = lookups.find_group(ctx.session, ctx.org, "execs")
        alice = lookups.find_user(ctx.session, ctx.org, "alice")
        _refused(ctx, principals.add_members, execs, [alice])
        assert _org_roles(ctx)["alice"] == "admin"
    staff.verify_clean()


def test_an_admin_cannot_nest_a_group_of_theirs_into_one_holding_owner(staff, app):
    """The second form: a new local group holding alice, nested into Execs."""
    with app.app_context():
        ctx = _as(app, "alice")
        mine = principals.create_local_group(ctx, "Mine", "mine")
        principals.add_members(ctx, mine, [lookups.find_user(ctx.session, ctx.org, "alice")])
        ctx.session.commit()
        execs = lookups.find_group(ctx.session, ctx.org, "execs")
        _refused(ctx, principals.add_members, execs, [mine])
    staff.verify_clean()


def test_an_admin_cannot_make_someone_else_owner_through_a_group(staff, app):
    """Adding bob to Execs gives bob Owner: refused as well."""
    with app.app_context():
        ctx = _as(app, "alice")
        execs = lookups.find_group(ctx.session, ctx.org, "execs")
        _refused(
            ctx, principals.add_members, execs, [lookups.find_user(ctx.session, ctx.org, "bob")]
        )


def test_an_admin_cannot_take_owner_away_by_any_route(staff, app):
    """With a second Owner, removing olivia from Execs or deactivating her is still refused."""
    staff.ok("grant", "--org", "acme", "--user", "bob", "--role", "owner", "org")
    with app.app_context():
        ctx = _as(app, "alice")
        execs = lookups.find_group(ctx.session, ctx.org, "execs")
        olivia = lookups.find_user(ctx.session, ctx.org, "olivia")
        # olivia also holds a direct Owner grant: take that first, as an Owner may.
        staff.ok("revoke", "--org", "acme", "--user", "olivia", "--role", "owner", "org")
        _refused(ctx, principals.remove_members, execs, [olivia])
        _refused(ctx, principals.set_local_user_active, olivia, False)
        _refused(ctx, principals.delete_local_user, olivia)
        _refused(ctx, principals.delete_local_group, execs)
    staff.verify_clean()


def test_an_owner_may_do_what_an_admin_may_not(staff, app):
    """The same membership change made by an Owner is applied."""
    with app.app_context():
        ctx = _as(app, "olivia")
        execs = lookups.find_group(ctx.session, ctx.org, "execs")
        principals.add_members(ctx, execs, [lookups.find_user(ctx.session, ctx.org, "alice")])
        ctx.session.commit()
        assert _org_roles(ctx)["alice"] == "owner"
    staff.verify_clean()


def test_an_admin_still_manages_every_role_below_their_own(staff, app):
    """Groups holding Admin or project roles take members from an Admin as before."""
    staff.ok("group", "create", "--org", "acme", "--slug", "ops", "Ops")
    staff.ok("assign", "--org", "acme", "--group", "Ops", "--role", "admin", "org")
    staff.ok("assign", "--org", "acme", "--group", "Ops", "--role", "editor", "project:web")
    with app.app_context():
        ctx = _as(app, "alice")
        ops = lookups.find_group(ctx.session, ctx.org, "ops")
        principals.add_members(ctx, ops, [lookups.find_user(ctx.session, ctx.org, "bob")])
        ctx.session.commit()
        assert _org_roles(ctx)["bob"] == "admin"
    staff.verify_clean()


def test_no_one_gives_an_additive_role_holding_more_than_they_hold(staff, app):
    """directory_manager acts as the IdP: an Admin may neither take it nor hand it out."""
    staff.ok("group", "create", "--org", "acme", "--slug", "it", "IT")
    staff.ok("assign", "--org", "acme", "--group", "IT", "--role", "directory_manager", "org")
    with app.app_context():
        ctx = _as(app, "alice")
        org = org_resource(ctx.session, ctx.org)
        alice = lookups.find_user(ctx.session, ctx.org, "alice")
        match = "may not give or take directory_manager"
        _refused(ctx, grants.grant_role, alice, "directory_manager", org, match=match)
        it = lookups.find_group(ctx.session, ctx.org, "it")
        _refused(ctx, principals.add_members, it, [alice], match=match)
        _refused(ctx, grants.assign_group, it, "directory_manager", org, match=match)
    staff.verify_clean()


def test_an_asset_admin_grants_its_roles_to_people_outside_the_project(staff, app):
    """The project Viewer role an asset role implies is no role the asset Admin gives."""
    staff.ok("grant", "--org", "acme", "--user", "bob", "--role", "admin", "asset:web/bot")
    staff.ok("user", "create", "--org", "acme", "carol")
    with app.app_context():
        ctx = _as(app, "bob")
        bot = find_resource(ctx.session, ctx.org, "asset:web/bot")
        carol = lookups.find_user(ctx.session, ctx.org, "carol")
        assert grants.grant_role(ctx, carol, "member", bot)
        ctx.session.commit()
        web = find_resource(ctx.session, ctx.org, "project:web")
        with pytest.raises(Forbidden, match="may not give or take viewer on project:web"):
            grants.grant_role(ctx, carol, "viewer", web)
        ctx.session.rollback()
    assert staff.explain("carol", "project:web")["role"] == "viewer"
    staff.verify_clean()
