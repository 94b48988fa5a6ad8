"""Admin actions authorised by the engine itself, on the actor's access before the change.

The command line acts as the system principal (the operator: trusted, not checked); an IdP
is the authority on who exists and belongs, and its changes are never refused (rails raise
alerts instead); an admin user (the admin views) may do what their own roles allow: an org
Owner or Admin everything, a project Admin their project's access and nothing else (seed
002); an API key what its role on the organization allows.

Giving or taking a role follows one rule, wherever it happens: the actor needs the scope's
permission to assign roles on the resource, and every permission the role grants there. No
one hands out more than they hold: only an Owner gives or takes Owner (seed 003: "Admins
cannot downgrade or remove Super Admin permissions"), and only a holder of the permission
that acts as the IdP gives the additive role holding it.

A change is judged twice. Its operation authorises the action (a grant, a membership) on the
actor's access before it writes anything. Then `judge_outcome` reads every role the change
gave or took, through groups, nesting, cascades, deactivation or the default role, against
the actor's access as it was before the change (`access_before`): an Admin who adds
themselves to a group holding Owner is judged as the Admin they were, not as the Owner the
recomputation has just made them.
"""

from collections.abc import Iterable

from sqlalchemy import select

from rbac.bulk import rows_by_id
from rbac.catalog import Scope
from rbac.context import Context
from rbac.errors import Forbidden
from rbac.evaluation import Access, Source, SourceKind, evaluate, permissions_of
from rbac.models import EffectiveAccess, Resource, User
from rbac.queries import check
from rbac.recompute import AccessDiff
from rbac.resources import address_of, org_resource, resource_ref

# What the acting user held before a change, by resource (None: read the live rows, which
# the change does not touch because it does not affect the actor).
AccessBefore = dict[int, Access] | None


def authorize(ctx: Context, permission: str, resource: Resource) -> None:
    """Let the acting principal use a permission on a resource, or raise Forbidden."""
    if ctx.actor.org_role is not None:
        if permission not in _org_role_permissions(ctx, ctx.actor.org_role, resource):
            where = address_of(ctx.session, resource)
            raise Forbidden(
                f"an API key acting as org {ctx.actor.org_role} may not {permission} on {where}"
            )
        return
    if not _checked(ctx):
        return
    user = _acting_user(ctx)
    decision = check(ctx.session, ctx.catalog, user, permission, resource)
    if not decision.allowed:
        where = address_of(ctx.session, resource)
        raise Forbidden(f"{user.user_name} may not {permission} on {where}: {decision.reason}")


def authorize_role(
    ctx: Context, role: str, resource: Resource, before: AccessBefore = None
) -> None:
    """Let the actor give or take a role on a resource, or raise Forbidden (see the module)."""
    if not _checked(ctx):
        return
    scope = resource_ref(resource).kind.scope
    held = _permissions(ctx, resource, before)
    needed = ctx.catalog.role(scope, role).permissions | {
        ctx.catalog.administration.assign_roles[scope]
    }
    if missing := needed - held:
        where = address_of(ctx.session, resource)
        raise Forbidden(
            f"{_name(ctx)} may not give or take {role} on {where}: "
            f"it needs {', '.join(sorted(missing))}"
        )


def access_before(ctx: Context, affected_users: Iterable[str]) -> AccessBefore:
    """Return the acting user's access, read before a change that will recompute it."""
    if not _checked(ctx) or ctx.actor.user_id not in set(affected_users):
        return None
    rows = ctx.session.execute(
        select(EffectiveAccess.resource_id, EffectiveAccess.role, EffectiveAccess.additive).where(
            EffectiveAccess.user_id == ctx.actor.user_id
        )
    )
    return {rid: Access(role, None, frozenset(additive)) for rid, role, additive in rows}


def judge_outcome(
    ctx: Context, diffs: list[AccessDiff], before: AccessBefore, exempt: set[int]
) -> None:
    """Refuse a change if it gave or took a role its actor could not give or take before it.

    Resources created or deleted by the change are `exempt`: their access follows from an
    action authorised on its own (creating a project makes org Admins its Admins). So is the
    project role that any asset role implies: it follows from the asset role, judged itself.
    """
    if not _checked(ctx):
        return
    implied = ctx.catalog.cascades.asset_role_implies_project_role
    moved: dict[int, set[str]] = {}
    for diff in diffs:
        if diff.resource_id in exempt:
            continue
        old = {diff.old_role, *diff.old_additive} - {None}
        new = {diff.new_role, *diff.new_additive} - {None}
        moved.setdefault(diff.resource_id, set()).update(old ^ new)
    resources = rows_by_id(ctx.session, Resource, [rid for rid, roles in moved.items() if roles])
    for resource_id, resource in resources.items():
        for role in sorted(moved[resource_id]):
            if resource_ref(resource).kind.scope == Scope.PROJECT and role == implied:
                continue
            authorize_role(ctx, role, resource, before)


def _checked(ctx: Context) -> bool:
    """The operator (trusted) and an IdP (the authority on who belongs) are not checked."""
    return ctx.actor.org_role is not None or (
        ctx.actor.user_id is not None and not ctx.actor.is_idp
    )


def _acting_user(ctx: Context) -> User:
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None or user.organization_id != ctx.org.id:
        raise Forbidden("the acting user is not a user of this organization")
    return user


def _name(ctx: Context) -> str:
    if ctx.actor.org_role is not None:
        return f"an API key acting as org {ctx.actor.org_role}"
    return _acting_user(ctx).user_name


def permissions_on(ctx: Context, resource: Resource) -> frozenset[str]:
    """The permissions the acting principal holds on a resource now (a read's authority)."""
    if not _checked(ctx):  # the operator: every permission there is on that scope
        scope = resource_ref(resource).kind.scope
        roles = (*ctx.catalog.ladders[scope], *ctx.catalog.additive[scope])
        return frozenset(p for role in roles for p in role.permissions)
    return _permissions(ctx, resource, None)


def _permissions(ctx: Context, resource: Resource, before: AccessBefore) -> frozenset[str]:
    """The actor's permissions on a resource: before the change when `before` holds them."""
    if ctx.actor.org_role is not None:
        return _org_role_permissions(ctx, ctx.actor.org_role, resource)
    scope = resource_ref(resource).kind.scope
    if before is not None:
        return permissions_of(ctx.catalog, scope, before.get(resource.id))
    # Columns, not the ORM row: the recomputation writes with Core statements, and an
    # EffectiveAccess object the session already holds would still show what it was.
    row = ctx.session.execute(
        select(EffectiveAccess.role, EffectiveAccess.additive).where(
            EffectiveAccess.user_id == _acting_user(ctx).id,
            EffectiveAccess.resource_id == resource.id,
        )
    ).first()
    access = Access(row.role, None, frozenset(row.additive)) if row else None
    return permissions_of(ctx.catalog, scope, access)


def _org_role_permissions(ctx: Context, role: str, resource: Resource) -> frozenset[str]:
    """The permissions on a resource of a principal holding only `role` on the organization."""
    org = org_resource(ctx.session, ctx.org)
    resources = {org.id: org, resource.id: resource}
    if resource.parent_id is not None:  # an asset: its project, for cascades
        resources[resource.parent_id] = ctx.session.get(Resource, resource.parent_id)
    refs = {resource_id: resource_ref(row) for resource_id, row in resources.items()}
    access = evaluate(ctx.catalog, refs, [Source(SourceKind.DIRECT, role, org.id)])
    return permissions_of(ctx.catalog, refs[resource.id].kind.scope, access.get(resource.id))
