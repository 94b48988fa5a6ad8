"""Authority is judged on the actor's access before the change, whatever route a role takes.

Issue 22's reproductions, each a test: an org Admin must never give or take a role its own
roles do not cover (seed 003: "Admins cannot downgrade or remove Super Admin permissions"),
whether directly, through a group's members, through nesting, or by deactivating someone.
"""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from rbac import accounts, lookups, tenancy, webhooks
from rbac.admin import grants, principals
from rbac.context import Context, user_actor
from rbac.errors import Forbidden
from rbac.models import AdminCredential, DirectoryToken, EffectiveAccess, Provider
from rbac.resources import find_resource, org_resource
from tests.conftest import PASSWORD, Browser, create_admin, table_rows
from web.db import get_catalog, get_session


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
        _refused(ctx, grants.give_role, alice, "directory_manager", org, match=match)
        it = lookups.find_group(ctx.session, ctx.org, "it")
        _refused(ctx, principals.add_members, it, [alice], match=match)
        _refused(ctx, grants.give_role, it, "directory_manager", org, match=match)
    staff.verify_clean()


def test_an_asset_admin_grants_its_roles_to_people_outside_the_project(staff, app):
    """The project Viewer role an asset role implies is no role the asset Admin gives."""
    staff.ok("grant", "--org", "acme", "--user", "bob", "--role", "admin", "asset:web/bot")
    staff.ok("user", "create", "--org", "acme", "carol")
    with app.app_context():
        ctx = _as(app, "bob")
        bot = find_resource(ctx.session, ctx.org, "asset:web/bot")
        carol = lookups.find_user(ctx.session, ctx.org, "carol")
        assert grants.give_role(ctx, carol, "member", bot)
        ctx.session.commit()
        web = find_resource(ctx.session, ctx.org, "project:web")
        with pytest.raises(Forbidden, match="may not give or take viewer on project:web"):
            grants.give_role(ctx, carol, "viewer", web)
        ctx.session.rollback()
    assert staff.explain("carol", "project:web")["role"] == "viewer"
    staff.verify_clean()


# -- the IdP's credentials: one permission, held by Owners and the directory_manager role ----


def test_an_admin_cannot_mint_a_token_to_act_as_the_idp(world, app):
    """The second reproduction: an org Admin may not create, rotate or revoke SCIM tokens."""
    create_admin(app, email="alice@example.com", role="admin")
    with app.app_context():
        ctx = _as(app, "alice@example.com")
        okta = tenancy.get_directory(ctx.session, ctx.org, "okta")
        for operation, *args in (
            (tenancy.issue_token, okta),
            (tenancy.rotate_tokens, okta, timedelta(0)),
            (tenancy.revoke_token, okta, 1),
            (tenancy.set_directory_enabled, okta, False),
            (tenancy.delete_directory, okta),
            (tenancy.create_directory, "entra", Provider.ENTRA),
        ):
            with pytest.raises(Forbidden, match=r"may not org\.manage_directories"):
                operation(ctx, *args)
            ctx.session.rollback()
    # The operator made the world's directory and token; nothing since.
    assert [kind for kind, _ in world.events("directory.")] == [
        "directory.created",
        "directory.token.created",
    ]


def test_an_admin_gets_no_token_in_admin_either(world, app, client):
    """In /admin an Admin sees the directory but no token form, and a forged POST is refused."""
    create_admin(app, email="alice@example.com", role="admin")
    browser = Browser(client)
    assert browser.log_in("alice@example.com").status_code == 303
    page = browser.get("/admin/directories/okta").get_data(as_text=True)
    assert "Rotate" not in page and "Pause provisioning" not in page
    assert "Delete directory" not in page
    assert "whoever holds a token acts as the IdP" in page
    for path in ("/admin/directories/okta/tokens", "/admin/directories/okta/delete"):
        refused = browser.post(path)
        assert refused.status_code == 403, path
        assert "may not org.manage_directories" in refused.get_data(as_text=True)
    with app.app_context():
        assert len(get_session().scalars(select(DirectoryToken)).all()) == 1


def test_a_directory_manager_handles_tokens_and_each_action_is_an_event(world, app):
    """An Owner gives an IT lead directory_manager; their token actions are events, no secret."""
    world.ok("user", "create", "--org", "acme", "lead")
    world.ok("grant", "--org", "acme", "--user", "lead", "--role", "directory_manager", "org")
    with app.app_context():
        ctx = _as(app, "lead")
        okta = tenancy.get_directory(ctx.session, ctx.org, "okta")
        _, first = tenancy.issue_token(ctx, okta)
        _, second, old = tenancy.rotate_tokens(ctx, okta, timedelta(hours=1))
        tenancy.revoke_token(ctx, okta, old[0].id)
        tenancy.revoke_token(ctx, okta, old[0].id)  # twice: one event
        tenancy.set_directory_enabled(ctx, okta, False)
        tenancy.set_directory_enabled(ctx, okta, False)
        tenancy.set_directory_enabled(ctx, okta, True)
        ctx.session.commit()
        revoked = ctx.session.get(DirectoryToken, old[0].id)
        assert (revoked.created_by, revoked.revoked_by) == ("cli", ctx.actor.label)
    written = world.events("directory.")[2:]  # after the world's own directory and token
    assert [kind for kind, _ in written] == [
        "directory.token.created",
        "directory.token.rotated",
        "directory.token.revoked",
        "directory.paused",
        "directory.resumed",
    ]
    lead_id = written[0][1]["actor"].partition(":")[2]
    assert all(data["actor"] == f"user:{lead_id}" for _, data in written)
    assert all(data["directory"]["name"] == "okta" for _, data in written)
    text = json.dumps(written)
    assert first not in text and second not in text and first[:10] in text


def test_api_keys_and_webhooks_are_events_without_secrets(world, app):
    """Creating and revoking API keys, and a webhook's life: events naming the actor."""
    create_admin(app)  # ada, Owner
    with app.app_context():
        ctx = _as(app, "ada@example.com")
        key, plaintext = tenancy.issue_api_key(ctx, "ci", "viewer")
        tenancy.revoke_api_key(ctx, key.id)
        endpoint, secret = webhooks.create_endpoint(ctx, "https://hooks.example/in?token=s3cret")
        webhooks.replay(ctx, endpoint, 1)
        webhooks.delete_endpoint(ctx, endpoint)
        ctx.session.commit()
        assert key.created_by == ctx.actor.label == key.revoked_by
    kinds = [kind for kind, _ in world.events("api_key.") + world.events("webhook.")]
    assert kinds == [
        "api_key.created",
        "api_key.revoked",
        "webhook.created",
        "webhook.replayed",
        "webhook.deleted",
    ]
    text = json.dumps(world.events(""))
    assert plaintext not in text and secret not in text and "s3cret" not in text
    assert "https://hooks.example/in?redacted" in text


def test_logins_are_events_and_a_flood_of_failures_is_not(world, app, client):
    """Success, the first failure of a series and the lockout are events; the rest are not."""
    create_admin(app)
    browser = Browser(client)
    for _ in range(7):
        assert browser.log_in(password="wrong password!").status_code == 401
    assert browser.log_in("nobody@example.com").status_code == 401
    kinds = [kind for kind, _ in world.events("admin.login.")]
    assert kinds == ["admin.login.failed", "admin.login.locked"]
    assert world.events("admin.login.locked")[0][1]["failures"] == 5
    with app.app_context():  # the lock ends; the next success is an event
        get_session().execute(update(AdminCredential).values(locked_until=None))
        get_session().commit()
    assert browser.log_in().status_code == 303
    succeeded = world.events("admin.login.succeeded")
    assert [data["actor"] for _, data in succeeded] == ["admin:ada@example.com"]
    text = json.dumps(world.events("admin."))
    assert "wrong password!" not in text and PASSWORD not in text
    assert {
        data["actor"]
        for kind, data in world.events("admin.login.")
        if kind != "admin.login.succeeded"
    } == {"anonymous"}


def test_only_the_operator_sets_a_password(world, app):
    """An admin never sets another admin's password: create_admin is the operator's alone."""
    create_admin(app)
    with app.app_context():
        ctx = _as(app, "ada@example.com")
        with pytest.raises(Forbidden, match="only the operator"):
            accounts.create_admin(ctx, "ada@example.com", "a new long password")
    assert [kind for kind, _ in world.events("admin.password")] == ["admin.password.set"]


# -- the audit log shows each reader what their roles cover ----------------------------------


def _reader(app, client, email, role, *, grant=None):
    """A browser logged in as an account of acme holding `role` on the org (or none)."""
    create_admin(app, email=email)
    with app.app_context():
        session = get_session()
        ctx = Context(session, get_catalog(), tenancy.get_organization(session, "acme"))
        user = lookups.find_user(session, ctx.org, email)
        org = org_resource(session, ctx.org)
        grants.take_role(ctx, user, "owner", org)
        if role is not None:
            grants.give_role(ctx, user, role, org)
        if grant is not None:
            grants.give_role(ctx, user, grant[0], find_resource(session, ctx.org, grant[1]))
        session.commit()
    browser = Browser(client)
    assert browser.log_in(email).status_code == 303
    return browser


@pytest.fixture
def history(world, app):
    """Events of every audience: memberships, access through a group, a token, two projects."""
    create_admin(app, email="owner@example.com")  # the Owner who stays
    alice = world.user("alice")
    world.group("Sales", alice)
    world.ok("project", "create", "--org", "acme", "mobile")
    world.ok("assign", "--org", "acme", "--group", "Sales", "--role", "editor", "project:web")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "viewer", "project:mobile")
    world.ok("token", "create", "--org", "acme", "--directory", "okta")
    return world


def _types(page: str) -> set[str]:
    return set(re.findall(r"<td><code>([a-z_.]+)</code></td>", page))


def test_an_admin_reads_every_event(history, app, client):
    """Owner and Admin: membership, directory and security events, groups named."""
    page = _reader(app, client, "adm@example.com", "admin").get("/admin/events").text
    assert {"dsync.group.user_added", "directory.token.created", "access.granted"} <= _types(page)
    assert "group Sales" in page or "Sales" in page


def test_a_viewer_reads_access_events_without_membership(history, app, client):
    """Seed 002: Viewer reads the audit log of access; seeds 000, 003: no group membership."""
    page = _reader(app, client, "vic@example.com", "viewer").get("/admin/events").text
    types = _types(page)
    assert "access.granted" in types and "assignment.created" in types
    assert not any(t.startswith(("dsync.", "group.", "directory.", "admin.")) for t in types)
    assert "membership_added" in page  # the cause's kind stays: that access came and went
    rows = [row for row in table_rows(page, "events") if "alice" in row and "project:web" in row]
    assert rows and not any("Sales" in row for row in rows)
    asked = _reader(app, client, "vera@example.com", "viewer").get("/admin/events?type=dsync.")
    assert table_rows(asked.text, "events") == ["No event matches."]


def test_a_project_admin_reads_their_project_only(history, app, client):
    """A project's Admin, with no org role, reads the access events of that project alone."""
    history.ok("org", "settings", "--org", "acme", "--default-role", "none")
    browser = _reader(app, client, "pam@example.com", None, grant=("admin", "project:mobile"))
    page = browser.get("/admin/events").text
    rows = table_rows(page, "events")
    assert all("project:mobile" in row for row in rows) and len(rows) >= 2
    assert _types(page) <= {"access.granted", "access.revoked", "grant.created", "resource.created"}
    assert "alice" in page  # her viewer grant on mobile


def test_no_role_that_covers_it_no_audit_log(history, app, client):
    """An asset's Admin with no org or project role reads no audit log at all."""
    history.ok("org", "settings", "--org", "acme", "--default-role", "none")
    browser = _reader(app, client, "ann@example.com", None, grant=("admin", "asset:web/bot"))
    refused = browser.get("/admin/events")
    assert refused.status_code == 403 and "none of this organization" in refused.text


def test_an_admin_cannot_add_an_owner_to_a_group_holding_owner(staff, app):
    """No access changes (olivia is Owner already), yet Execs would keep her Owner: refused."""
    staff.ok("group", "create", "--org", "acme", "--slug", "board", "Board")
    staff.ok("assign", "--org", "acme", "--group", "Board", "--role", "owner", "org")
    with app.app_context():
        ctx = _as(app, "alice")
        board = lookups.find_group(ctx.session, ctx.org, "board")
        olivia = lookups.find_user(ctx.session, ctx.org, "olivia")
        _refused(ctx, principals.add_members, board, [olivia])
        parent = lookups.find_group(ctx.session, ctx.org, "execs")
        _refused(ctx, principals.add_members, parent, [board])  # nesting, the same


# -- no admin sets another's password: a one-time link at most -------------------------------


def test_a_one_time_link_lets_an_account_holder_set_their_password(world, app, client):
    """An Owner gives an Admin's holder a link: it works once; their old password stops."""
    create_admin(app)  # ada, Owner
    create_admin(app, email="bob@example.com", role="admin")
    ada = Browser(client)
    assert ada.log_in().status_code == 303
    page = "/admin/users/bob@example.com"
    ada.get(page)
    given = ada.post(f"{page}/password-link")
    assert given.status_code == 303
    shown = ada.get(given.headers["Location"]).text
    link = re.search(r'id="password-link">([^<]+)<', shown).group(1)
    assert link.startswith("http://localhost/admin/password/")
    assert 'id="password-link"' not in ada.get(page).text  # shown once
    path = link.removeprefix("http://localhost")

    bob = Browser(app.test_client())
    assert "Set your password" in bob.get(path).text
    differ = bob.post(path, {"password": "a new long passphrase", "again": "something else"})
    assert differ.status_code == 400 and "the two passwords differ" in differ.text
    done = bob.post(path, {"password": "a new long passphrase", "again": "a new long passphrase"})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/login"
    assert "no longer works" in bob.get(path).text  # once
    again = bob.post(
        path, {"password": "yet another passphrase", "again": "yet another passphrase"}
    )
    assert again.status_code == 400
    assert bob.log_in("bob@example.com").status_code == 401  # the old password
    assert bob.log_in("bob@example.com", "a new long passphrase").status_code == 303
    kinds = [kind for kind, _ in world.events("admin.password")]
    assert kinds[-2:] == ["admin.password_link.created", "admin.password.set"]
    assert link.rpartition("/")[2] not in json.dumps(world.events(""))


def test_an_admin_gets_no_link_for_an_owner(world, app):
    """A link is only for an account whose every role the issuer could give: not an Owner's."""
    create_admin(app)  # ada, Owner
    create_admin(app, email="carol@example.com", role="admin")
    with app.app_context():
        ctx = _as(app, "carol@example.com")
        ada = lookups.find_user(ctx.session, ctx.org, "ada@example.com")
        with pytest.raises(Forbidden, match="may not give or take owner"):
            accounts.issue_password_link(ctx, ada)
        ctx.session.rollback()
        carol = lookups.find_user(ctx.session, ctx.org, "carol@example.com")
        assert accounts.issue_password_link(ctx, carol)  # her own: every role hers to give
