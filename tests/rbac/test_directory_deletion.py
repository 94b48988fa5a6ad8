"""Deleting a directory: its users and groups go as if its IdP deleted them, judged as any change.

Only a holder of `manage_directories` (an Owner, or the additive `directory_manager`) may
delete one, as they may pause it or mint its tokens; the outcome rule and the owner rule
apply to everything its users lose.
"""

import pytest
from sqlalchemy import func, select

from rbac import lookups, tenancy
from rbac.context import Context, user_actor
from rbac.errors import Forbidden, NotFound, Refused
from rbac.models import DirectoryToken, Group, GroupMembership, User
from web.db import get_catalog, get_session


@pytest.fixture
def company(world):
    """Okta's ann (a direct grant) and ben in Sales; local lou with a grant, in local Partners."""
    ann = world.user("ann")
    ben = world.user("ben")
    world.group("Sales", ann, ben)
    world.ok("assign", "--org", "acme", "--group", "Sales", "--role", "editor", "project:web")
    world.ok("grant", "--org", "acme", "--user", "ann", "--role", "admin", "project:web")
    world.ok("user", "create", "--org", "acme", "lou")
    world.ok("grant", "--org", "acme", "--user", "lou", "--role", "owner", "org")
    world.ok("grant", "--org", "acme", "--user", "lou", "--role", "viewer", "project:web")
    world.ok("group", "create", "--org", "acme", "--slug", "partners", "Partners")
    world.ok("group", "add", "--org", "acme", "partners", "lou", "ann")
    return world


def _as(name: str | None) -> Context:
    session = get_session()
    org = tenancy.get_organization(session, "acme")
    if name is None:
        return Context(session, get_catalog(), org)  # the operator
    return Context(
        session, get_catalog(), org, user_actor(lookups.find_user(session, org, name).id)
    )


def test_deleting_a_directory_deletes_what_it_provisioned_and_nothing_else(company, app):
    """Users, groups, memberships and tokens go; local ones and their grants stay; events say so."""
    with app.app_context():
        ctx = _as("lou")
        okta = tenancy.get_directory(ctx.session, ctx.org, "okta")
        diffs = tenancy.delete_directory(ctx, okta)
        ctx.session.commit()
        assert {(d.old_role, d.new_role) for d in diffs} >= {("admin", None), ("viewer", None)}
        session = get_session()
        assert [u.user_name for u in session.scalars(select(User))] == ["lou"]
        assert [g.display_name for g in session.scalars(select(Group))] == ["Partners"]
        assert session.scalar(select(func.count()).select_from(GroupMembership)) == 1
        assert session.scalar(select(func.count()).select_from(DirectoryToken)) == 0
        with pytest.raises(NotFound):
            tenancy.get_directory(session, ctx.org, "okta")
    assert company.scim.get("/Users").status_code == 401  # its token went with it
    assert company.check("lou", "project.view", "project:web")
    types = [kind for kind, _ in company.events()]
    tail = types[types.index("dsync.group.deleted") :]
    assert tail.count("dsync.user.deleted") == 2 and "group.user_removed" in tail
    assert tail[-1] == "directory.deleted"
    (_, deleted), *_ = company.events("directory.deleted")
    assert (deleted["users"], deleted["groups"], deleted["directory"]["name"]) == (2, 1, "okta")
    assert deleted["actor"].startswith("user:")
    company.verify_clean()


def _ada_deletes_okta(app, match: str) -> None:
    """Ada, a local org Admin, tries to delete okta and is refused; nothing changes."""
    with app.app_context():
        ctx = _as("ada")
        okta = tenancy.get_directory(ctx.session, ctx.org, "okta")
        with pytest.raises(Forbidden, match=match):
            tenancy.delete_directory(ctx, okta)
        ctx.session.rollback()


def _ada(company, *roles: str) -> None:
    company.ok("user", "create", "--org", "acme", "ada")
    for role in ("admin", *roles):
        company.ok("grant", "--org", "acme", "--user", "ada", "--role", role, "org")


def test_only_a_holder_of_manage_directories_deletes_one(company, app):
    """An org Admin is refused (403) and nothing changes; directory_manager is enough."""
    _ada(company)
    _ada_deletes_okta(app, "manage_directories")
    assert len(company.events("dsync.user.deleted")) == 0
    company.ok("grant", "--org", "acme", "--user", "ada", "--role", "directory_manager", "org")
    with app.app_context():
        ctx = _as("ada")
        tenancy.delete_directory(ctx, tenancy.get_directory(ctx.session, ctx.org, "okta"))
        ctx.session.commit()
    assert len(company.events("dsync.user.deleted")) == 2


def test_a_directory_manager_cannot_take_owner_by_deleting_its_directory(company, app):
    """Deleting the directory an Owner comes from takes Owner: judged as the actor's change."""
    company.ok("grant", "--org", "acme", "--user", "ben", "--role", "owner", "org")
    _ada(company, "directory_manager")
    _ada_deletes_okta(app, "may not give or take owner")
    assert company.check("ben", "org.manage_directories", "org")


def test_the_last_owner_and_the_actor_own_account_are_kept(company, app):
    """Deleting the only Owner's directory is refused, as is deleting one's own directory."""
    company.ok("grant", "--org", "acme", "--user", "ben", "--role", "owner", "org")
    company.ok("revoke", "--org", "acme", "--user", "lou", "--role", "owner", "org")
    with app.app_context():
        ctx = _as(None)  # even the operator keeps an active Owner
        okta = tenancy.get_directory(ctx.session, ctx.org, "okta")
        with pytest.raises(Refused, match="without an active Owner"):
            tenancy.delete_directory(ctx, okta)
        ctx.session.rollback()
        ctx = _as("ben")
        with pytest.raises(Refused, match="your own account comes from directory 'okta'"):
            tenancy.delete_directory(ctx, tenancy.get_directory(ctx.session, ctx.org, "okta"))
        ctx.session.rollback()
    assert company.scim.get("/Users").status_code == 200
    company.verify_clean()


def test_the_command_line_deletes_a_directory_after_saying_what_goes(company, app):
    """`directory delete` says how many users and groups go, asks, and deletes (exit 0)."""
    asked = company.run("directory", "delete", "--org", "acme", "--directory", "okta")
    assert asked.exit_code == 1 and "deletes the 2 user(s) and 1 group(s) of 'okta'" in asked.output
    assert company.scim.get("/Users").status_code == 200  # not confirmed: nothing went
    done = company.ok("directory", "delete", "--org", "acme", "--directory", "okta", "--yes")
    assert "directory 'okta' deleted;" in done
    assert company.scim.get("/Users").status_code == 401
    assert company.run("directory", "delete", "--org", "acme", "--directory", "okta").exit_code == 2
