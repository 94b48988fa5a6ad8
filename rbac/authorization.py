"""Admin actions authorised by the engine itself: the actor's own `check` of catalog permissions.

The command line acts as the system principal (the operator: trusted, not checked); an IdP
never calls admin operations; an admin user (the admin views, later API keys acting as a
principal) may do what their own roles allow: an org Owner or Admin everything, a project
Admin their project's access and nothing else (seed 002).
"""

from rbac.context import Context
from rbac.errors import Forbidden
from rbac.models import Resource, User
from rbac.queries import check
from rbac.resources import address_of


def authorize(ctx: Context, permission: str, resource: Resource) -> None:
    """Let the acting principal use a permission on a resource, or raise Forbidden."""
    if ctx.actor.user_id is None:
        return  # the operator (trusted) or an IdP (never calls admin operations)
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None or user.organization_id != ctx.org.id:
        raise Forbidden("the acting user is not a user of this organization")
    decision = check(ctx.session, ctx.catalog, user, permission, resource)
    if not decision.allowed:
        where = address_of(ctx.session, resource)
        raise Forbidden(f"{user.user_name} may not {permission} on {where}: {decision.reason}")
