"""Every declared event type is written somewhere, and every event's data is its declared payload.

One scenario drives the domain (and SCIM, for an IdP's events) through every type; each
event's `data` must then have exactly the fields of one of its type's payload classes
(rbac.event_types), plus the `actor` the log adds to all but access changes.
"""

from datetime import timedelta

import pytest

from rbac import accounts, tenancy, webhooks
from rbac.admin import grants, principals, resources, settings
from rbac.catalog import load_catalog
from rbac.context import Context
from rbac.evaluation import ResourceKind
from rbac.event_log import read_events, record_event
from rbac.event_types import BY_NAME, TYPES
from rbac.models import Provider
from rbac.payloads import AccessChange, DirectoryAction, GroupRolesSwitch, field_names
from rbac.resources import find_resource
from web.db import get_session

PASSWORD = "a long enough password"


def test_every_type_is_written_with_exactly_its_payload_fields(world):
    """Each event's keys are one declared shape's fields; every type and shape occurs."""
    _idp_events(world)
    with world.app.app_context():
        session = get_session()
        ctx = Context(session, load_catalog(), tenancy.get_organization(session, "acme"))
        _admin_changes(ctx)
        _admin_actions(ctx)
        session.commit()
        events = read_events(session, ctx.org.id, 0, 100_000)
    seen = set()
    for event in events:
        event_type = BY_NAME[event.type]
        actor = set() if event_type.payload is AccessChange else {"actor"}
        shapes = [s for s in event_type.shapes if set(field_names(s)) | actor == set(event.data)]
        declared = [sorted(field_names(s)) for s in event_type.shapes]
        assert shapes, f"{event.type} carries {sorted(event.data)}, declared {declared} + {actor}"
        seen.add((event.type, shapes[0]))
    declared = {(t.name, shape) for t in TYPES for shape in t.shapes}
    assert declared - seen == set(), "declared but never written"


def test_a_payload_of_another_type_is_refused(app, directory):
    """An event whose payload is not its type's class is a TypeError; an unknown type, not one."""
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, directory.org_slug)
        shapes = r"org\.settings\.changed event carries DefaultRoleChange or GroupRolesSwitch"
        with pytest.raises(TypeError, match=shapes):
            record_event(session, org.id, "org.settings.changed", DirectoryAction({}), "cli")
        with pytest.raises(TypeError):
            record_event(session, org.id, "org.settings.changed", {"enabled": True}, "cli")
        with pytest.raises(ValueError, match="not in"):
            record_event(session, org.id, "org.settings.toggled", GroupRolesSwitch(True), "cli")
        session.rollback()


def _idp_events(world) -> None:
    """An IdP's users, groups and memberships, and an owner it deactivates (the alert)."""
    scim = world.scim
    alice, bob = world.user("alice"), world.user("bob")
    team = world.group("Team", alice)
    assert scim.patch(f"/Users/{alice}", [{"op": "replace", "path": "displayName", "value": "A"}])
    renamed = scim.patch(f"/Groups/{team}", [{"op": "replace", "value": {"displayName": "T2"}}])
    assert renamed.status_code in (200, 204)
    world.remove_member(team, alice)
    world.ok("grant", "--org", "acme", "--user", "bob", "--role", "owner", "org")
    world.set_active(bob, False)  # the only Owner: dsync.user.updated, then the alert
    assert scim.delete(f"/Users/{alice}").status_code == 204
    assert scim.delete(f"/Groups/{team}").status_code == 204


def _admin_changes(ctx: Context) -> None:
    """Local users and groups, resources, roles and settings, through the door."""
    carol = principals.create_local_user(ctx, "carol@example.com")
    dave = principals.create_local_user(ctx, "dave@example.com")
    staff = principals.create_local_group(ctx, "Staff", "staff")
    inner = principals.create_local_group(ctx, "Inner", "inner")
    principals.rename_local_group(ctx, staff, "Staff members")
    principals.add_members(ctx, staff, [carol, inner])
    principals.remove_members(ctx, staff, [carol, inner])
    principals.set_local_user_active(ctx, carol, False)
    project = resources.create_project(ctx, "payloads")
    agent = resources.create_asset(ctx, project, ResourceKind.AGENT, "agent")
    crew = resources.create_asset(ctx, project, ResourceKind.WORKFORCE, "crew")
    resources.set_workforce_agents(ctx, crew, [agent])
    for holder in (dave, staff):
        grants.give_role(ctx, holder, "editor", project)
        grants.take_role(ctx, holder, "editor", project)
    resources.delete_resource(ctx, find_resource(ctx.session, ctx.org, "project:payloads"))
    settings.set_default_role(ctx, None)  # from Viewer (the default default)
    settings.set_group_roles_enabled(ctx, False)
    principals.delete_local_user(ctx, dave)
    principals.delete_local_group(ctx, inner)


def _admin_actions(ctx: Context) -> None:
    """Directories, tokens, API keys, webhooks, admin accounts and logins."""
    directory = tenancy.create_directory(ctx, "entra", Provider.ENTRA)
    token, _ = tenancy.issue_token(ctx, directory)
    tenancy.rotate_tokens(ctx, directory, timedelta(hours=1))
    tenancy.revoke_token(ctx, directory, token.id)
    tenancy.set_directory_enabled(ctx, directory, False)
    tenancy.set_directory_enabled(ctx, directory, True)
    tenancy.delete_directory(ctx, directory)
    key, _ = tenancy.issue_api_key(ctx, "ci")
    tenancy.revoke_api_key(ctx, key.id)
    endpoint, _ = webhooks.create_endpoint(ctx, "https://hooks.example.com/rolecall")
    webhooks.update_endpoint(ctx, endpoint, enabled=False)
    webhooks.replay(ctx, endpoint, 1)
    webhooks.rotate_secret(ctx, endpoint, timedelta(hours=1))
    webhooks.delete_endpoint(ctx, endpoint)
    erin = accounts.create_admin(ctx, "erin@example.com", PASSWORD)
    link = accounts.issue_password_link(ctx, erin)
    accounts.set_password_with_link(ctx.session, link, PASSWORD + "!")
    assert accounts.log_in(ctx.session, "erin@example.com", PASSWORD + "!").users
    for _ in range(accounts.MAX_FAILED_LOGINS):
        accounts.log_in(ctx.session, "erin@example.com", "wrong")
    accounts.unlock(ctx, erin)
