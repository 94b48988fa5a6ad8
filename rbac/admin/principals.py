"""Local users and groups (managed by no IdP): created, renamed, filled and deleted by admins.

IdP-managed groups are read-only here: their members and names change only through their
directory. A local group may hold any user of the organization and contain any group of it.
"""

from collections.abc import Iterable

from sqlalchemy import select

from rbac import provisioning
from rbac.authorization import authorize, authorize_role
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.db import casefold_key
from rbac.errors import Conflict, InvalidValue, NotFound, Refused
from rbac.facts import GroupCreated, GroupUpdated
from rbac.group_graph import ancestor_groups
from rbac.models import Group, GroupAssignment, Resource, User
from rbac.recompute import AccessDiff
from rbac.resources import SLUG, org_resource


def create_local_user(ctx: Context, user_name: str, display_name: str | None = None) -> User:
    """Create a local user (no IdP manages it); it gets the org's default role at once."""
    authorize(ctx, ctx.catalog.administration.manage_principals, org_resource(ctx.session, ctx.org))
    user, changes = provisioning.create_local_user(ctx.session, ctx.org, user_name, display_name)
    apply_changes(ctx, changes)
    return user


def set_local_user_active(
    ctx: Context, user: User, active: bool, *, confirmed: bool = False
) -> list[AccessDiff]:
    """Deactivate a local user (every role suspended, grants kept) or reactivate one."""
    _authorize_local(ctx, user)
    return apply_changes(
        ctx, provisioning.set_active(ctx.session, user, active), confirmed=confirmed
    )


def delete_local_user(ctx: Context, user: User, *, confirmed: bool = False) -> list[AccessDiff]:
    """Delete a local user with their memberships and grants; return the access they lost."""
    _authorize_local(ctx, user)
    return apply_changes(ctx, provisioning.delete_user(ctx.session, user), confirmed=confirmed)


def create_local_group(ctx: Context, name: str, slug: str, description: str | None = None) -> Group:
    """Create a local group (managed by admins, not by any IdP): name, slug, description."""
    _authorize(ctx)
    if not SLUG.fullmatch(slug) or len(slug) > Group.__table__.c.slug.type.length:
        raise InvalidValue(f"{slug!r} is not a group slug: 1 to 64 letters, digits, '.', '_', '-'")
    if not name.strip() or len(name) > 256:
        raise InvalidValue("a group name has 1 to 256 characters")
    taken = select(Group.id).where(Group.organization_id == ctx.org.id, Group.slug == slug)
    if ctx.session.scalar(taken) is not None:
        raise Conflict(f"a group with slug {slug!r} exists")
    _ensure_local_name_free(ctx, name)
    group = Group(
        organization_id=ctx.org.id,
        directory_id=None,
        display_name=name,
        display_name_key=casefold_key(name),
        slug=slug,
        description=description,
        attributes={},
    )
    ctx.session.add(group)
    ctx.session.flush()
    apply_changes(ctx, [GroupCreated(group.id)])
    return group


def rename_local_group(
    ctx: Context, group: Group, name: str, description: str | None = None
) -> None:
    """Rename a local group (and set its description when given)."""
    _authorize_local(ctx, group)
    if not name.strip() or len(name) > 256:
        raise InvalidValue("a group name has 1 to 256 characters")
    _ensure_local_name_free(ctx, name, group)
    renamed = group.display_name != name
    group.display_name, group.display_name_key = name, casefold_key(name)
    if description is not None:
        group.description = description
    group.version = Group.version + 1
    ctx.session.flush()
    apply_changes(ctx, [GroupUpdated(group.id, renamed)])


def delete_local_group(ctx: Context, group: Group) -> list[AccessDiff]:
    """Delete a local group; return the access its members lost (see explain_group first)."""
    _authorize_local(ctx, group)
    return apply_changes(ctx, provisioning.delete_group(ctx.session, group))


def add_members(ctx: Context, group: Group, members: Iterable[User | Group]) -> list[AccessDiff]:
    """Add users, or groups to nest, to a local group; present members are a no-op.

    Joining a group is being given what it grants, through its parents too: the actor must
    be able to give each of those roles, even to a member who holds it already from
    elsewhere (who would keep it through this group once the other source goes).
    """
    _authorize_local(ctx, group)
    held = (
        select(GroupAssignment.role, Resource)
        .join(Resource, Resource.id == GroupAssignment.resource_id)
        .where(GroupAssignment.group_id.in_(ancestor_groups(ctx.session, [group.id])))
        .distinct()
    )
    for role, resource in ctx.session.execute(held):
        authorize_role(ctx, role, resource)
    return _change_members(ctx, group, members, provisioning.add_members)


def remove_members(
    ctx: Context, group: Group, members: Iterable[User | Group], *, confirmed: bool = False
) -> list[AccessDiff]:
    """Remove users, or nested groups, from a local group; absent members are a no-op."""
    return _change_members(ctx, group, members, provisioning.remove_members, confirmed)


def _change_members(ctx, group, members, operation, confirmed: bool = False) -> list[AccessDiff]:
    _authorize_local(ctx, group)
    changes = operation(ctx.session, group, [member.id for member in members])
    return apply_changes(ctx, changes, confirmed=confirmed)


def _ensure_local_name_free(ctx: Context, name: str, renamed: Group | None = None) -> None:
    """Seed 004: local groups' names are unique (IdP groups' names are the IdP's business)."""
    taken = select(Group.id).where(
        Group.organization_id == ctx.org.id,
        Group.directory_id.is_(None),
        Group.display_name_key == casefold_key(name),
    )
    if renamed is not None:
        taken = taken.where(Group.id != renamed.id)
    if ctx.session.scalar(taken) is not None:
        raise Conflict(f"a local group named {name!r} exists")


def _authorize(ctx: Context) -> None:
    authorize(ctx, ctx.catalog.administration.manage_principals, org_resource(ctx.session, ctx.org))


def _authorize_local(ctx: Context, principal: User | Group) -> None:
    """Let the actor manage a local user or group of the organization (not an IdP's)."""
    _authorize(ctx)
    kind, name = (
        ("user", principal.user_name)
        if isinstance(principal, User)
        else ("group", principal.display_name)
    )
    if principal.organization_id != ctx.org.id:
        raise NotFound(f"no {kind} {principal.id!r} in organization {ctx.org.slug!r}")
    if principal.directory_id is not None:
        raise Refused(f"{name!r} is managed by its IdP: change it there")
