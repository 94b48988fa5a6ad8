"""rbac.bulk: many values as one parameter, many rows in one statement, on each backend."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import insert, select

from rbac import provisioning, tenancy
from rbac.admin import grants, resources
from rbac.bulk import among, insert_rows
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.db import utcnow
from rbac.models import Event, Group, GroupMembership, Provider, User
from rbac.queries import verify
from rbac.resources import org_resource
from tests.conftest import fold_access_events, materialised_access
from web.db import get_catalog, get_session


def test_among_takes_more_values_than_sqlite_takes_parameters(app):
    """40 000 ids (SQLite's default limit is 32 766 parameters a statement) select the matches."""
    with app.app_context():
        session = get_session()
        _, directory = _okta_directory(session)
        users = _users(session, directory, 3)
        wanted = [str(uuid.uuid4()) for _ in range(40_000)] + users[:2]
        found = session.scalars(select(User.id).where(among(session, User.id, wanted))).all()
        assert sorted(found) == sorted(users[:2])
        assert session.scalars(select(User.id).where(among(session, User.id, []))).all() == []


def test_insert_rows_keeps_order_and_values(app):
    """Rows come back with their JSON, times and nulls intact, ids in the order given."""
    with app.app_context():
        session = get_session()
        org = tenancy.create_organization(session, "acme")
        session.flush()
        moment = datetime(2026, 11, 29, 15, 0, 0, 123456, tzinfo=UTC)
        data = [
            {"n": n, "text": 'quote " back\\slash é \u2028', "list": [1, None], "none": None}
            for n in range(2_500)
        ]
        rows = [
            {"organization_id": org.id, "created_at": moment, "type": f"t.{n}", "data": d}
            | {"txid": None}
            for n, d in enumerate(data)
        ]
        insert_rows(session, Event.__table__, rows)
        stored = session.execute(
            select(Event.type, Event.data, Event.created_at, Event.txid).order_by(Event.id)
        ).all()
        assert [row.type for row in stored] == [f"t.{n}" for n in range(2_500)]
        assert [row.data for row in stored] == data
        assert {row.created_at for row in stored} == {moment}
        assert {row.txid for row in stored} == {None}


def test_role_on_a_large_group_is_written_in_bulk_and_verifies(app):
    """A role given to and taken from a 3 000-member group: one event per member, no drift."""
    with app.app_context():
        session = get_session()
        org, directory = _okta_directory(session)
        members = _users(session, directory, 3_000)
        group = Group(
            organization_id=org.id,
            directory_id=directory.id,
            display_name="everyone",
            display_name_key="everyone",
            attributes={},
        )
        session.add(group)
        session.flush()
        session.execute(
            insert(GroupMembership),
            [{"group_id": group.id, "user_id": u, "created_at": utcnow()} for u in members],
        )
        ctx = Context(session, get_catalog(), org)
        project = resources.create_project(ctx, "web")
        grants.give_role(ctx, group, "editor", project)
        access = materialised_access(session, org.id)
        assert {access[(u, project.id)] for u in members} == {("editor", ())}
        assert verify(ctx) == []
        grants.take_role(ctx, group, "editor", project)
        assert not [key for key in materialised_access(session, org.id) if key[1] == project.id]
        assert verify(ctx) == []
        # The events alone rebuild the same access (every change written, in order).
        assert fold_access_events(session, org.id) == materialised_access(session, org.id)


def _okta_directory(session):
    """Return a new organization acme and its Okta directory, flushed."""
    org = tenancy.create_organization(session, "acme")
    directory = tenancy.create_directory(
        Context(session, get_catalog(), org), "okta", Provider.OKTA
    )
    session.flush()
    return org, directory


def _users(session, directory, count: int) -> list[str]:
    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    session.execute(
        insert(User),
        [
            {
                "id": user_id,
                "organization_id": directory.organization_id,
                "directory_id": directory.id,
                "user_name": f"user{n}",
                "user_name_key": f"user{n}",
                "active": True,
                "attributes": {},
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for n, user_id in enumerate(ids)
        ],
    )
    return ids


def test_a_user_created_in_a_batch_that_also_names_it_gets_every_role(app):
    """A creation alone reads nothing of the new user; with a membership in the batch, it does."""
    with app.app_context():
        session = get_session()
        org, directory = _okta_directory(session)
        org.default_role = "viewer"
        ctx = Context(session, get_catalog(), org)
        project = resources.create_project(ctx, "web")
        group, group_changes = provisioning.create_group(
            session, directory, provisioning.GroupFields(display_name="devs")
        )
        apply_changes(ctx, group_changes)
        grants.give_role(ctx, group, "editor", project)
        alone, created = provisioning.create_user(
            session, directory, provisioning.UserFields(user_name="alone")
        )
        apply_changes(ctx, created)
        member, created = provisioning.create_user(
            session, directory, provisioning.UserFields(user_name="member")
        )
        added = provisioning.add_members(session, group, [member.id])
        apply_changes(ctx, created + added)
        access = materialised_access(session, org.id)
        org_id = org_resource(session, org).id
        assert {key: role for key, (role, _) in access.items() if key[0] == alone.id} == {
            (alone.id, org_id): "viewer"
        }
        assert {key: role for key, (role, _) in access.items() if key[0] == member.id} == {
            (member.id, org_id): "viewer",
            (member.id, project.id): "editor",
        }
        assert verify(ctx) == []
        assert fold_access_events(session, org.id) == materialised_access(session, org.id)
