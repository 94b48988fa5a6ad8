"""Projects and assets (agents, tools, knowledge bases, workforces): created, changed, deleted."""

from collections.abc import Sequence

from sqlalchemy import delete, select

from rbac.authorization import authorize
from rbac.catalog import Scope
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.errors import Conflict, InvalidValue
from rbac.evaluation import ResourceKind
from rbac.facts import ResourceCreated, ResourceDeleted, RoleGranted, WorkforceAgentsSet
from rbac.listing import agents_of, child_by_slug
from rbac.models import Grant, GroupAssignment, Resource, User, WorkforceAgent
from rbac.recompute import AccessDiff
from rbac.resources import SLUG, address_of, org_resource


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
    _check_agents(ctx, uses)
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


def get_or_create_project(ctx: Context, slug: str) -> tuple[Resource, bool]:
    """Return the project with this slug, creating it if there is none; and whether it was."""
    existing = child_by_slug(ctx.session, ctx.org, org_resource(ctx.session, ctx.org), slug)
    if existing is not None:
        return existing, False
    return create_project(ctx, slug), True


def get_or_create_asset(
    ctx: Context, project: Resource, kind: ResourceKind, slug: str, **made
) -> tuple[Resource, bool]:
    """Return the identical asset (kind, creator, agents) if it exists, else create it.

    `made` is what `create_asset` takes besides (its creator, the agents it uses). Also
    return whether it was created. A different asset with this slug is a Conflict.
    """
    existing = child_by_slug(ctx.session, ctx.org, project, slug)
    if existing is not None and _same_asset(ctx, existing, kind, made):
        return existing, False
    return create_asset(ctx, project, kind, slug, **made), True


def set_workforce_agents(ctx: Context, workforce: Resource, agents: Sequence[Resource]) -> None:
    """Replace the agents a workforce uses (the workforce rule reads them at each check)."""
    authorize(ctx, ctx.catalog.administration.edit_asset, workforce)
    if workforce.kind != ResourceKind.WORKFORCE.value:
        raise InvalidValue("only a workforce uses agents")
    _check_agents(ctx, agents)
    wanted = {agent.id for agent in agents}
    links = ctx.session.scalars(
        select(WorkforceAgent).where(WorkforceAgent.workforce_id == workforce.id)
    ).all()
    for link in links:
        if link.agent_id not in wanted:
            ctx.session.delete(link)
    for agent_id in sorted(wanted - {link.agent_id for link in links}):
        ctx.session.add(WorkforceAgent(workforce_id=workforce.id, agent_id=agent_id))
    ctx.session.flush()
    apply_changes(ctx, [WorkforceAgentsSet(workforce.id)])


def delete_resource(ctx: Context, resource: Resource) -> list[AccessDiff]:
    """Delete a project (with its assets) or an asset; everyone's access to it is revoked.

    Its grants, group assignments and workforce links go first, so that recomputing their
    holders sees only the access that remains (an asset's role implies a role on its project).
    """
    if resource.kind == ResourceKind.ORGANIZATION.value:
        raise InvalidValue("the organization itself is not deleted here")
    project = resource.kind == ResourceKind.PROJECT.value
    administration = ctx.catalog.administration
    authorize(
        ctx, administration.delete_project if project else administration.delete_asset, resource
    )
    children = ctx.session.scalars(select(Resource).where(Resource.parent_id == resource.id)).all()
    gone = [resource.id, *(child.id for child in children)]
    address = address_of(ctx.session, resource)
    for model, column in (
        (Grant, Grant.resource_id),
        (GroupAssignment, GroupAssignment.resource_id),
        (WorkforceAgent, WorkforceAgent.workforce_id),
        (WorkforceAgent, WorkforceAgent.agent_id),
    ):
        ctx.session.execute(delete(model).where(column.in_(gone)))
    ctx.session.flush()
    diffs = apply_changes(ctx, [ResourceDeleted(resource.id, address, resource.kind, tuple(gone))])
    ctx.session.execute(delete(Resource).where(Resource.id.in_(gone)))
    return diffs


def _same_asset(ctx: Context, asset: Resource, kind: ResourceKind, made: dict) -> bool:
    """Whether an existing asset is the one a create asks for (kind, creator, agents)."""
    creator, uses = made.get("creator"), made.get("uses", ())
    return (
        asset.kind == kind
        and asset.created_by_user_id == (creator.id if creator else None)
        and {a.id for a in agents_of(ctx.session, ctx.org, asset)} == {a.id for a in uses}
    )


def _check_agents(ctx: Context, agents: Sequence[Resource]) -> None:
    for agent in agents:
        if agent.kind != ResourceKind.AGENT.value or agent.organization_id != ctx.org.id:
            raise InvalidValue(f"{agent.slug!r} is not an agent of this organization")


def _new_resource(
    ctx: Context, kind: ResourceKind, parent: Resource, slug: str, creator: User | None = None
) -> Resource:
    if not SLUG.fullmatch(slug):
        raise InvalidValue(
            f"{slug!r} is not a slug: 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if child_by_slug(ctx.session, ctx.org, parent, slug) is not None:
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
