"""Admin actions authorised by the engine itself: the actor's own `check` of catalog permissions.

The command line acts as the system principal (the operator: trusted, not checked); an IdP
never calls admin operations; an admin user (the admin views) may do what their own roles
allow: an org Owner or Admin everything, a project Admin their project's access and nothing
else (seed 002); an API key what its role on the organization allows (an admin key is an
org Admin: it may not give or take the Owner role, seed 003).
"""

from rbac.context import Context
from rbac.errors import Forbidden
from rbac.evaluation import Source, SourceKind, evaluate, permissions_of
from rbac.models import Resource, User
from rbac.queries import check
from rbac.resources import address_of, org_resource, resource_ref


def authorize(ctx: Context, permission: str, resource: Resource) -> None:
    """Let the acting principal use a permission on a resource, or raise Forbidden."""
    if ctx.actor.org_role is not None:
        _authorize_org_role(ctx, ctx.actor.org_role, permission, resource)
        return
    if ctx.actor.user_id is None:
        return  # the operator (trusted) or an IdP (never calls admin operations)
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None or user.organization_id != ctx.org.id:
        raise Forbidden("the acting user is not a user of this organization")
    decision = check(ctx.session, ctx.catalog, user, permission, resource)
    if not decision.allowed:
        where = address_of(ctx.session, resource)
        raise Forbidden(f"{user.user_name} may not {permission} on {where}: {decision.reason}")


def _authorize_org_role(ctx: Context, role: str, permission: str, resource: Resource) -> None:
    """Let a principal holding only `role` on the organization use a permission, or refuse."""
    org = org_resource(ctx.session, ctx.org)
    resources = {org.id: org, resource.id: resource}
    if resource.parent_id is not None:  # an asset: its project, for cascades
        resources[resource.parent_id] = ctx.session.get(Resource, resource.parent_id)
    refs = {resource_id: resource_ref(row) for resource_id, row in resources.items()}
    access = evaluate(ctx.catalog, refs, [Source(SourceKind.DIRECT, role, org.id)])
    scope = refs[resource.id].kind.scope
    if permission not in permissions_of(ctx.catalog, scope, access.get(resource.id)):
        where = address_of(ctx.session, resource)
        raise Forbidden(f"an API key acting as org {role} may not {permission} on {where}")
