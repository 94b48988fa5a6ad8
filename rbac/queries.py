"""Questions about access: check (may U do P on R?), explain (why?), verify (any drift?)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rbac.access import evaluate_users, resource_path, transitive_groups, transitive_members
from rbac.catalog import Catalog, Scope
from rbac.evaluation import Access, ResourceKind, Source, SourceKind, permissions_of
from rbac.models import (
    EffectiveAccess,
    Group,
    GroupAssignment,
    Organization,
    Resource,
    User,
    WorkforceAgent,
)

_PERMISSION_SCOPES = {"org": Scope.ORGANIZATION, "project": Scope.PROJECT, "asset": Scope.ASSET}


@dataclass(frozen=True)
class Decision:
    """The answer to check: allowed or not, the role that decided, and its winning source."""

    allowed: bool
    role: str | None
    source: str | None
    reason: str


def check(
    session: Session, catalog: Catalog, user: User, permission: str, resource: Resource
) -> Decision:
    """Return whether a user may use a permission on a resource, from materialised access."""
    scope = ResourceKind(resource.kind).scope
    prefix = permission.partition(".")[0]
    if _PERMISSION_SCOPES.get(prefix) != scope:
        raise ValueError(f"{permission!r} is not a permission on a {scope.value}")
    if permission not in catalog.permissions():
        raise ValueError(f"unknown permission {permission!r} (see `rolecall catalog`)")
    row = session.get(EffectiveAccess, (user.id, resource.id))
    access = Access(row.role, None, frozenset(row.additive)) if row else None
    role = row.role if row else None
    source = row.source if row else None
    if permission not in permissions_of(catalog, scope, access):
        held = f"holds {role}" if role else "holds no role"
        return Decision(False, role, source, f"{held} on it, which does not grant {permission}")
    if resource.kind == ResourceKind.WORKFORCE.value:
        # Seed 002: a workforce is run, edited or viewed with the same right on every agent it
        # uses (run: Member on the workforce and on each agent; edit: Admin on all; ...).
        agents = session.scalars(
            select(Resource)
            .join(WorkforceAgent, WorkforceAgent.agent_id == Resource.id)
            .where(WorkforceAgent.workforce_id == resource.id)
            .order_by(Resource.slug)
        )
        for agent in agents:
            agent_row = session.get(EffectiveAccess, (user.id, agent.id))
            agent_access = (
                Access(agent_row.role, None, frozenset(agent_row.additive)) if agent_row else None
            )
            if permission not in permissions_of(catalog, Scope.ASSET, agent_access):
                held = agent_row.role if agent_row and agent_row.role else "no role"
                return Decision(
                    False,
                    role,
                    source,
                    f"the workforce uses agent {agent.slug!r}, on which it holds {held}, "
                    f"which does not grant {permission}",
                )
    return Decision(True, role, source, f"{role or 'an additive role'} grants {permission}")


@dataclass(frozen=True)
class Explanation:
    """Every source of a user's role on a resource, the winner, and the materialised state."""

    resource: str
    access: Access | None
    reasons: dict[Source, str]  # each source in words: where it comes from, and why
    materialised_role: str | None
    active: bool


def explain(
    session: Session, catalog: Catalog, org: Organization, user: User, resource: Resource
) -> Explanation:
    """Evaluate a user's access to a resource from the base tables, with every source."""
    evaluated = evaluate_users(session, catalog, org, [user.id])
    access = evaluated.access.get(user.id, {}).get(resource.id)
    row = session.get(EffectiveAccess, (user.id, resource.id))
    resources = {**evaluated.resources, **_ancestors(session, resource)}
    reasons = {s: _reason(session, s, resources) for s in (access.sources if access else ())}
    return Explanation(
        resource_path(resource, resources),
        access,
        reasons,
        row.role if row else None,
        user.active,
    )


def _reason(session: Session, source: Source, resources: dict[int, Resource]) -> str:
    if source.kind == SourceKind.GROUP:
        group = session.get(Group, source.group_id)
        return f"group {group.display_name!r}" if group else f"group {source.group_id}"
    if source.kind == SourceKind.DEFAULT:
        return "the organization's default role of every active user"
    if source.kind == SourceKind.CREATOR:
        return "created the asset"
    if source.kind == SourceKind.DIRECT:
        return "granted directly"
    origin = resources[source.from_resource_id]
    path = resource_path(origin, resources)
    if origin.kind == ResourceKind.ORGANIZATION.value:
        return f"cascade: {source.from_role} of the organization is {source.role} everywhere"
    if origin.kind == ResourceKind.PROJECT.value:
        return f"cascade: {source.from_role} of {path} is {source.role} of its assets"
    return f"cascade: holding {source.from_role} on {path} makes a {source.role} of its project"


def explain_group(session: Session, org: Organization, group: Group) -> dict:
    """Return what a group grants (its own and inherited assignments) and to whom."""
    inherited_from = transitive_groups(session, [group.id])
    rows = session.execute(
        select(GroupAssignment, Resource)
        .join(Resource, Resource.id == GroupAssignment.resource_id)
        .where(GroupAssignment.group_id.in_(inherited_from))
        .order_by(Resource.id)
    ).all()
    parents = {}
    for _, resource in rows:
        parents.update(_ancestors(session, resource))
    return {
        "group": group.display_name,
        "grants": [
            {
                "resource": resource_path(resource, parents),
                "role": assignment.role,
                "through": None if assignment.group_id == group.id else assignment.group_id,
            }
            for assignment, resource in rows
        ],
        "members": sorted(transitive_members(session, group.id)),
        "group_roles_enabled": org.group_roles_enabled,
    }


@dataclass(frozen=True)
class Drift:
    """One (user, resource) whose materialised access differs from a recomputation."""

    user_id: str
    resource_id: int
    materialised: tuple[str | None, tuple[str, ...]] | None
    recomputed: tuple[str | None, tuple[str, ...]] | None


def verify(session: Session, catalog: Catalog, org: Organization) -> list[Drift]:
    """Recompute every user's access from the base tables and list what differs."""
    rows = list(
        session.scalars(select(EffectiveAccess).where(EffectiveAccess.organization_id == org.id))
    )
    user_ids = set(session.scalars(select(User.id).where(User.organization_id == org.id)))
    user_ids |= {row.user_id for row in rows}
    evaluated = evaluate_users(session, catalog, org, user_ids)
    materialised = {(r.user_id, r.resource_id): (r.role, tuple(sorted(r.additive))) for r in rows}
    recomputed = {
        (user_id, resource_id): (access.role, tuple(sorted(access.additive)))
        for user_id, by_resource in evaluated.access.items()
        for resource_id, access in by_resource.items()
    }
    return [
        Drift(key[0], key[1], materialised.get(key), recomputed.get(key))
        for key in sorted(materialised.keys() | recomputed.keys())
        if materialised.get(key) != recomputed.get(key)
    ]


def _ancestors(session: Session, resource: Resource) -> dict[int, Resource]:
    found = {resource.id: resource}
    current = resource
    while current.parent_id is not None:
        current = session.get(Resource, current.parent_id)
        found[current.id] = current
    return found
