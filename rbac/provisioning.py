"""Operations on the users and groups a directory provisions.

Each operation takes a session, flushes, never commits, and returns the changes it
made (`rbac.facts`). Membership changes are row deltas: adding or removing members
never loads the group's other members.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rbac import facts
from rbac.db import casefold_key, conflict_insert, utcnow
from rbac.errors import Conflict, InvalidMembers, InvalidValue
from rbac.group_graph import descendant_groups, parents_and_children, transitive_members
from rbac.models import AdminSession, Directory, Group, GroupChild, GroupMembership, User, UserEmail
from rbac.payloads import directory_group, directory_user


@dataclass(frozen=True)
class EmailFields:
    """One email address as the IdP sent it."""

    value: str | None
    type: str | None = None
    primary: bool | None = None


@dataclass(frozen=True)
class UserFields:
    """What a directory says about a user, independent of the wire format."""

    user_name: str
    external_id: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    active: bool = True
    emails: tuple[EmailFields, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupFields:
    """What a directory says about a group, members aside."""

    display_name: str
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def create_user(session: Session, directory: Directory, fields: UserFields) -> tuple[User, list]:
    """Provision a user in a directory; its userName must be new there (case-insensitively)."""
    # No look-up first: the unique (directory, folded userName) key refuses a taken name at
    # the flush, which makes it a Conflict, one statement fewer for every IdP create.
    user = User(organization_id=directory.organization_id, directory_id=directory.id)
    _assign_user_fields(user, fields)
    _flush_unique(session, user)
    return user, [facts.UserCreated(user.id)]


def create_local_user(
    session: Session, org, user_name: str, display_name: str | None = None
) -> tuple[User, list]:
    """Create a user that no directory manages; its userName must be new among local users."""
    taken = select(User.id).where(
        User.organization_id == org.id,
        User.directory_id.is_(None),
        User.user_name_key == casefold_key(user_name),
    )
    if session.scalar(taken) is not None:
        raise Conflict(f"a local user {user_name!r} exists")
    fields = UserFields(
        user_name=user_name, display_name=display_name, attributes={"userName": user_name}
    )
    user = User(organization_id=org.id, directory_id=None)
    _assign_user_fields(user, fields)
    session.add(user)
    session.flush()
    return user, [facts.UserCreated(user.id)]


def replace_user(session: Session, user: User, fields: UserFields) -> list:
    """Replace every attribute of a user; report activation changes apart."""
    if casefold_key(fields.user_name) != user.user_name_key:
        _ensure_user_name_free(session, user.directory_id, fields.user_name, user.id)
    was_active = user.active
    _assign_user_fields(user, fields)
    _bump(user)
    _flush_unique(session, user)
    if was_active and not user.active:
        end_admin_sessions(session, user)
        return [facts.UserDeactivated(user.id)]
    if not was_active and user.active:
        return [facts.UserReactivated(user.id)]
    return [facts.UserUpdated(user.id)]


def set_active(session: Session, user: User, active: bool) -> list:
    """Deactivate or reactivate a user (nothing if it already is so)."""
    if user.active == active:
        return []
    user.active = active
    _bump(user)
    session.flush()
    if not active:
        end_admin_sessions(session, user)
    return [facts.UserReactivated(user.id) if active else facts.UserDeactivated(user.id)]


def end_admin_sessions(session: Session, user: User) -> None:
    """End a user's /admin sessions (deactivated, or given a new password): they log in again."""
    session.execute(
        update(AdminSession)
        .where(AdminSession.user_id == user.id, AdminSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def delete_user(session: Session, user: User) -> list:
    """Remove a user and every membership it had; the event keeps what the user was."""
    snapshot = directory_user(user)
    group_ids = session.scalars(
        delete(GroupMembership)
        .where(GroupMembership.user_id == user.id)
        .returning(GroupMembership.group_id)
    ).all()
    _bump_groups(session, group_ids)
    session.delete(user)
    session.flush()
    removed = [facts.MemberRemoved(group_id, user.id) for group_id in sorted(group_ids)]
    return [*removed, facts.UserDeleted(user.id, tuple(sorted(group_ids)), snapshot)]


def create_group(
    session: Session, directory: Directory, fields: GroupFields, member_ids: Iterable[str] = ()
) -> tuple[Group, list]:
    """Provision a group in a directory, with its first members."""
    group = Group(organization_id=directory.organization_id, directory_id=directory.id)
    _assign_group_fields(group, fields)
    session.add(group)
    session.flush()
    changes: list = [facts.GroupCreated(group.id)]
    changes += add_members(session, group, member_ids, bump=False)
    return group, changes


def replace_group(
    session: Session, group: Group, fields: GroupFields, member_ids: Iterable[str] | None
) -> list:
    """Replace a group's attributes and, unless member_ids is None, its members."""
    renamed = group.display_name != fields.display_name
    _assign_group_fields(group, fields)
    _bump(group)
    session.flush()
    changes: list = [facts.GroupUpdated(group.id, renamed)]
    if member_ids is not None:
        changes += set_members(session, group, member_ids)
    return changes


def update_group(session: Session, group: Group, fields: GroupFields) -> list:
    """Change a group's own attributes, leaving its members alone."""
    return replace_group(session, group, fields, None)


def delete_group(session: Session, group: Group) -> list:
    """Remove a group, its memberships and its nesting; its event names every transitive member."""
    everyone = transitive_members(session, group.id)
    snapshot = directory_group(group)
    parents, children = parents_and_children(session, group.id)
    member_ids = session.scalars(
        delete(GroupMembership)
        .where(GroupMembership.group_id == group.id)
        .returning(GroupMembership.user_id)
    ).all()
    session.delete(group)
    session.flush()
    removed = [facts.MemberRemoved(group.id, user_id) for user_id in sorted(member_ids)]
    unnested = [facts.GroupUnnested(parent, group.id) for parent in parents]
    unnested += [facts.GroupUnnested(group.id, child) for child in children]
    return [*removed, *unnested, facts.GroupDeleted(group.id, tuple(sorted(everyone)), snapshot)]


Members = Iterable[str] | Mapping[str, str | None]
"""Member ids (users or groups), or a mapping of member ids to the display name sent with each."""


@dataclass(frozen=True)
class CheckedMembers:
    """Members split by kind: users (with the display sent) and groups nested in the group."""

    users: dict[str, str | None]
    groups: set[str]


def check_members(session: Session, group: Group, members: Members) -> CheckedMembers:
    """Split members into users and groups of the group's scope; raise InvalidMembers otherwise.

    A directory's group holds that directory's users and groups; a local group, any of the org.
    """
    wanted = dict(members) if isinstance(members, Mapping) else dict.fromkeys(members)
    if not wanted:
        return CheckedMembers({}, set())
    users = set(
        session.scalars(select(User.id).where(_same_scope(User, group), User.id.in_(wanted)))
    )
    others = wanted.keys() - users  # usually none: IdPs nest groups rarely
    groups = set(
        session.scalars(select(Group.id).where(_same_scope(Group, group), Group.id.in_(others)))
        if others
        else ()
    )
    if unknown := wanted.keys() - users - groups:
        raise InvalidMembers(unknown)
    if cyclic := {child for child in groups if group.id in descendant_groups(session, child)}:
        raise InvalidMembers(cyclic, "a group cannot contain itself, even through others")
    return CheckedMembers({u: wanted[u] for u in users}, groups)


def _same_scope(model, group: Group):
    if group.directory_id is not None:
        return model.directory_id == group.directory_id
    return model.organization_id == group.organization_id


def add_members(session: Session, group: Group, members: Members, *, bump: bool = True) -> list:
    """Add users (and nested groups) to a group; adding a present member is a no-op."""
    checked = check_members(session, group, members)
    for display in checked.users.values():
        _check_length("members.display", display, GroupMembership.__table__.c.display)
    changes: list = []
    now = utcnow()
    insert = conflict_insert(session.get_bind().dialect.name)
    if checked.users:
        rows = [
            {"group_id": group.id, "user_id": user_id, "display": display, "created_at": now}
            for user_id, display in checked.users.items()
        ]
        # ON CONFLICT DO NOTHING makes concurrent adds of one member safe, and
        # RETURNING reports only the rows that were really inserted.
        statement = insert(GroupMembership).on_conflict_do_nothing()
        added = session.scalars(statement.returning(GroupMembership.user_id), rows).all()
        changes += [facts.MemberAdded(group.id, user_id) for user_id in sorted(added)]
    if checked.groups:
        rows = [{"group_id": group.id, "child_group_id": child} for child in checked.groups]
        statement = insert(GroupChild).on_conflict_do_nothing()
        nested = session.scalars(statement.returning(GroupChild.child_group_id), rows).all()
        changes += [facts.GroupNested(group.id, child) for child in sorted(nested)]
    if changes and bump:
        _bump_groups(session, [group.id])
    return changes


def remove_members(session: Session, group: Group, member_ids: Iterable[str]) -> list:
    """Remove users (and nested groups) from a group; removing an absent member is a no-op."""
    wanted = set(member_ids)
    if not wanted:
        return []
    removed = session.scalars(
        delete(GroupMembership)
        .where(GroupMembership.group_id == group.id, GroupMembership.user_id.in_(wanted))
        .returning(GroupMembership.user_id)
    ).all()
    unnested = session.scalars(
        delete(GroupChild)
        .where(GroupChild.group_id == group.id, GroupChild.child_group_id.in_(wanted))
        .returning(GroupChild.child_group_id)
    ).all()
    if removed or unnested:
        _bump_groups(session, [group.id])
    return [facts.MemberRemoved(group.id, user_id) for user_id in sorted(removed)] + [
        facts.GroupUnnested(group.id, child) for child in sorted(unnested)
    ]


def remove_all_members(session: Session, group: Group) -> list:
    """Empty a group."""
    return remove_members(session, group, _current_members(session, group))


def set_members(session: Session, group: Group, members: Members) -> list:
    """Make the group's members exactly these, by set arithmetic on its rows."""
    checked = check_members(session, group, members)
    current = _current_members(session, group)
    wanted = checked.users.keys() | checked.groups
    added = {m: checked.users.get(m) for m in wanted - current}
    return remove_members(session, group, current - wanted) + add_members(session, group, added)


def _current_members(session: Session, group: Group) -> set[str]:
    users = session.scalars(
        select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)
    )
    children = session.scalars(
        select(GroupChild.child_group_id).where(GroupChild.group_id == group.id)
    )
    return set(users) | set(children)


def list_members(
    session: Session, group_ids: Iterable[str]
) -> dict[str, list[tuple[str, str | None, str]]]:
    """Return each group's (id, display, "User" or "Group") members, stable order, two queries."""
    by_group: dict[str, list[tuple[str, str | None, str]]] = {g: [] for g in group_ids}
    if not by_group:
        return by_group
    users = session.execute(
        select(GroupMembership.group_id, GroupMembership.user_id, GroupMembership.display)
        .where(GroupMembership.group_id.in_(by_group))
        .order_by(GroupMembership.group_id, GroupMembership.user_id)
    )
    for group_id, user_id, display in users:
        by_group[group_id].append((user_id, display, "User"))
    children = session.execute(
        select(GroupChild.group_id, Group.id, Group.display_name)
        .join(Group, Group.id == GroupChild.child_group_id)
        .where(GroupChild.group_id.in_(by_group))
        .order_by(GroupChild.group_id, Group.id)
    )
    for group_id, child_id, display in children:
        by_group[group_id].append((child_id, display, "Group"))
    return by_group


def _key(value: str | None) -> str | None:
    return None if value is None else casefold_key(value)


def _check_length(name: str, value: str | None, column, *, keyed: bool = False) -> None:
    """Refuse a value longer than its column, or whose casefolded key outgrows its own.

    Casefolding can lengthen a string ("İ" folds to two code points), so the key is checked too.
    """
    limit = column.type.length
    if value is not None and len(value) > limit:
        raise InvalidValue(f"{name} is longer than {limit} characters")
    if value is not None and keyed and len(casefold_key(value)) > limit:
        raise InvalidValue(f"{name} is longer than {limit} characters once casefolded")


def _check_not_blank(name: str, value: str) -> None:
    """Refuse an empty or blank identifier (RFC 7643 makes userName and displayName REQUIRED)."""
    if not value.strip():
        raise InvalidValue(f"{name} must not be empty")


def _assign_user_fields(user: User, fields: UserFields) -> None:
    _check_not_blank("userName", fields.user_name)
    _check_length("userName", fields.user_name, User.__table__.c.user_name, keyed=True)
    _check_length("externalId", fields.external_id, User.__table__.c.external_id)
    _check_length("displayName", fields.display_name, User.__table__.c.display_name, keyed=True)
    _check_length("name.givenName", fields.given_name, User.__table__.c.given_name)
    _check_length("name.familyName", fields.family_name, User.__table__.c.family_name)
    for email in fields.emails:
        _check_length("emails.value", email.value, UserEmail.__table__.c.value, keyed=True)
        _check_length("emails.type", email.type, UserEmail.__table__.c.type_key, keyed=True)
    user.user_name = fields.user_name
    user.user_name_key = casefold_key(fields.user_name)
    user.external_id = fields.external_id
    user.display_name = fields.display_name
    user.display_name_key = _key(fields.display_name)
    user.given_name, user.family_name = fields.given_name, fields.family_name
    user.active = fields.active
    user.attributes = fields.attributes
    emails = [(e.value, _key(e.value), _key(e.type), e.primary) for e in fields.emails]
    if user.id is None or emails != [
        (e.value, e.value_key, e.type_key, e.primary) for e in user.emails
    ]:  # a PATCH of another attribute leaves the email rows as they are
        user.emails = [
            UserEmail(value=value, value_key=value_key, type_key=type_key, primary=primary)
            for value, value_key, type_key, primary in emails
        ]


def _assign_group_fields(group: Group, fields: GroupFields) -> None:
    _check_not_blank("displayName", fields.display_name)
    _check_length("displayName", fields.display_name, Group.__table__.c.display_name, keyed=True)
    _check_length("externalId", fields.external_id, Group.__table__.c.external_id)
    group.display_name = fields.display_name
    group.display_name_key = casefold_key(fields.display_name)
    group.external_id = fields.external_id
    group.attributes = fields.attributes


def _ensure_user_name_free(
    session: Session, directory_id: int | None, user_name: str, user_id: str | None = None
) -> None:
    """Raise Conflict if another user of the directory has this userName (case-insensitively)."""
    taken = select(User.id).where(
        User.directory_id == directory_id, User.user_name_key == casefold_key(user_name)
    )
    if user_id is not None:
        taken = taken.where(User.id != user_id)
    if session.scalar(taken) is not None:
        raise Conflict(f"userName {user_name!r} is already taken")


def _flush_unique(session: Session, user: User) -> None:
    """Flush a new or changed user; losing a race on its userName is a Conflict."""
    session.add(user)
    try:
        # No savepoint: the request fails with the Conflict and rolls back whole. (The one
        # this had protected nothing: begin_nested() flushes before its SAVEPOINT.)
        session.flush()
    except IntegrityError as error:
        raise Conflict(f"userName {user.user_name!r} is already taken") from error


def _bump(resource: User | Group) -> None:
    """Give a changed resource a new version (its ETag) and modification time."""
    resource.version = type(resource).version + 1
    resource.updated_at = utcnow()


def _bump_groups(session: Session, group_ids: Iterable[str]) -> None:
    """Bump groups' versions in SQL, so that concurrent membership changes never lose one."""
    group_ids = list(group_ids)
    if not group_ids:
        return
    session.execute(
        update(Group)
        .where(Group.id.in_(group_ids))
        .values(version=Group.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    for group_id in group_ids:
        if (group := session.identity_map.get(session.identity_key(Group, group_id))) is not None:
            session.expire(group, ["version", "updated_at"])
