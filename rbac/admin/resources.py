"""Creating projects and assets (agents, tools, knowledge bases, workforces)."""

from collections.abc import Sequence

from sqlalchemy import select

from rbac.authorization import authorize
from rbac.catalog import Scope
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.errors import Conflict, InvalidValue
from rbac.evaluation import ResourceKind
from rbac.events import ResourceCreated, RoleGranted
from rbac.models import Grant, Resource, User, WorkforceAgent
from rbac.resources import SLUG, org_resource


def create_project(ctx: Context, slug: str) -> Resource:
    """Create a project; org owners and admins become its admins by cascade."""
    parent = org_resource(ctx.session, ctx.org)
    authorize(ctx, ctx.catalog.administration.create_project, parent)
    project = _new_resource(ctx, ResourceKind.PROJECT, parent, slug)
    apply_changes(ctx, [ResourceCreated(project.id)])
    return project


def create_asset(
    ctx: Context,
    project: Resource,
    kind: ResourceKind,
    slug: str,
    *,
    creator: User | None = None,
    uses: Sequence[Resource] = (),
) -> Resource:
    """Create an asset in a project; its creator gets its admin role as a direct grant."""
    authorize(ctx, ctx.catalog.administration.create_asset, project)
    if kind.scope != Scope.ASSET:
        raise InvalidValue(f"{kind.value} is not an asset kind")
    if project.kind != ResourceKind.PROJECT.value:
        raise InvalidValue("an asset belongs to a project")
    if uses and kind != ResourceKind.WORKFORCE:
        raise InvalidValue("only a workforce uses agents")
    for agent in uses:
        if agent.kind != ResourceKind.AGENT.value or agent.organization_id != ctx.org.id:
            raise InvalidValue(f"{agent.slug!r} is not an agent of this organization")
    if creator is not None and creator.organization_id != ctx.org.id:
        raise InvalidValue(f"{creator.user_name!r} is not a user of this organization")
    asset = _new_resource(ctx, kind, project, slug, creator)
    for agent in uses:
        ctx.session.add(WorkforceAgent(workforce_id=asset.id, agent_id=agent.id))
    changes: list = [ResourceCreated(asset.id)]
    if creator is not None:
        # Seed 002: "upon asset creation, the creator becomes the admin" -- a direct grant,
        # listed and revocable like any other, and never touched by the IdP.
        role = ctx.catalog.cascades.creator_asset_role
        ctx.session.add(
            Grant(user_id=creator.id, resource_id=asset.id, role=role, granted_by=ctx.actor.label)
        )
        changes.append(RoleGranted(creator.id, asset.id, role))
    ctx.session.flush()
    apply_changes(ctx, changes)
    return asset


def _new_resource(
    ctx: Context, kind: ResourceKind, parent: Resource, slug: str, creator: User | None = None
) -> Resource:
    if not SLUG.fullmatch(slug):
        raise InvalidValue(
            f"{slug!r} is not a slug: 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    taken = select(Resource.id).where(
        Resource.organization_id == ctx.org.id,
        Resource.parent_id == parent.id,
        Resource.slug == slug,
    )
    if ctx.session.scalar(taken) is not None:
        raise Conflict(f"{slug!r} exists in {parent.slug!r}")
    resource = Resource(
        organization_id=ctx.org.id,
        kind=kind.value,
        parent_id=parent.id,
        slug=slug,
        created_by_user_id=creator.id if creator else None,
    )
    ctx.session.add(resource)
    ctx.session.flush()
    return resource
