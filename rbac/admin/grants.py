"""Direct grants to users and role assignments to groups, on any resource of the organization.

`give_role` and `take_role` serve both: a user's role is a direct grant, a group's an
assignment (`rbac.holdings` says what differs).
"""

from sqlalchemy import delete

from rbac.authorization import authorize_role
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.db import conflict_insert
from rbac.errors import InvalidValue
from rbac.evaluation import ResourceKind
from rbac.holdings import holding_of
from rbac.models import Group, Resource, User


def give_role(ctx: Context, holder: User | Group, role: str, resource: Resource) -> bool:
    """Give a user (directly) or a group a role on a resource; False if it already held it.

    A group's transitive members inherit it. ON CONFLICT DO NOTHING: identical requests at
    the same moment give the role once, and each of them succeeds (the later ones find it
    given), rather than one failing.
    """
    holding = holding_of(holder)
    name = _authorized_role(ctx, resource, role, holder)
    values = {holding.holder_key: holder.id, "resource_id": resource.id, "role": name}
    values |= {holding.given_by: ctx.actor.label}
    insert = conflict_insert(ctx.session.get_bind().dialect.name)
    model = holding.model
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    if ctx.session.scalar(statement) is None:
        return False
    apply_changes(ctx, [holding.given(holder.id, resource.id, name)])
    return True


def take_role(
    ctx: Context, holder: User | Group, role: str, resource: Resource, *, confirmed: bool = False
) -> bool:
    """Take a user's direct grant (the creator's admin role too) or a group's role back.

    Return False if it did not hold it. Taking away the acting admin's own top role this way
    needs `confirmed`.
    """
    holding = holding_of(holder)
    change = holding.taken(holder.id, resource.id, _authorized_role(ctx, resource, role, holder))
    model = holding.model
    removed = ctx.session.execute(
        delete(model).where(
            holding.holder_id == holder.id,
            model.resource_id == change.resource_id,
            model.role == change.role,
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
