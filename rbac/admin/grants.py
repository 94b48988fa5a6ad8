"""Direct grants to users and role assignments to groups, on any resource of the organization."""

from sqlalchemy import delete

from rbac.authorization import authorize_role
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.db import conflict_insert
from rbac.errors import InvalidValue
from rbac.evaluation import ResourceKind
from rbac.facts import GroupRoleAssigned, GroupRoleUnassigned, RoleGranted, RoleRevoked
from rbac.models import Grant, Group, GroupAssignment, Resource, User


def grant_role(ctx: Context, user: User, role: str, resource: Resource) -> bool:
    """Give a user a role directly on a resource; return False if it was already given."""
    name = _authorized_role(ctx, resource, role, user)
    values = {"user_id": user.id, "resource_id": resource.id, "role": name}
    values |= {"granted_by": ctx.actor.label}
    return _give(ctx, Grant, values, RoleGranted(user.id, resource.id, name))


def revoke_role(
    ctx: Context, user: User, role: str, resource: Resource, *, confirmed: bool = False
) -> bool:
    """Take back a direct grant (the creator's admin role too); return False if there was none."""
    change = RoleRevoked(user.id, resource.id, _authorized_role(ctx, resource, role, user))
    return _take(ctx, change, Grant, Grant.user_id == user.id, confirmed=confirmed)


def assign_group(ctx: Context, group: Group, role: str, resource: Resource) -> bool:
    """Let a group hold a role on a resource; every transitive member inherits it."""
    name = _authorized_role(ctx, resource, role, group)
    values = {"group_id": group.id, "resource_id": resource.id, "role": name}
    values |= {"assigned_by": ctx.actor.label}
    return _give(ctx, GroupAssignment, values, GroupRoleAssigned(group.id, resource.id, name))


def unassign_group(
    ctx: Context, group: Group, role: str, resource: Resource, *, confirmed: bool = False
) -> bool:
    """Take a group's role on a resource back; return False if it did not hold it.

    Taking away the acting admin's own top role this way needs `confirmed`.
    """
    name = _authorized_role(ctx, resource, role, group)
    holder = GroupAssignment.group_id == group.id
    change = GroupRoleUnassigned(group.id, resource.id, name)
    return _take(ctx, change, GroupAssignment, holder, confirmed=confirmed)


def _give(ctx: Context, model: type[Grant | GroupAssignment], values: dict, change) -> bool:
    """Add a grant or assignment row unless it exists; hand the change to the door.

    ON CONFLICT DO NOTHING: identical requests at the same moment give the role once, and
    each of them succeeds (the later ones find it given), rather than one failing.
    """
    insert = conflict_insert(ctx.session.get_bind().dialect.name)
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    if ctx.session.scalar(statement) is None:
        return False
    apply_changes(ctx, [change])
    return True


def _take(ctx: Context, change, model, holder, *, confirmed: bool) -> bool:
    """Delete a grant or assignment row if it exists; hand the change to the door."""
    removed = ctx.session.execute(
        delete(model).where(
            holder, model.resource_id == change.resource_id, model.role == change.role
        )
    ).rowcount
    if not removed:
        return False
    apply_changes(ctx, [change], confirmed=confirmed)
    return True


def _authorized_role(ctx: Context, resource: Resource, role: str, holder: User | Group) -> str:
    """Resolve a role of the resource's scope; authorise the actor to give or take it."""
    if resource.organization_id != ctx.org.id or holder.organization_id != ctx.org.id:
        raise InvalidValue("the resource and the user or group must belong to the organization")
    scope = ResourceKind(resource.kind).scope
    name = ctx.catalog.role(scope, role).name
    authorize_role(ctx, name, resource)
    return name
