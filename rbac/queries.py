"""Questions about access: check (may U do P on R?), explain (why?), verify (any drift?)."""

from dataclasses import dataclass

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session, aliased

from rbac.catalog import Catalog, Scope
from rbac.context import Context
from rbac.errors import InvalidValue
from rbac.evaluation import Access, ResourceKind, Source, permissions_of
from rbac.group_graph import ancestor_groups, transitive_members
from rbac.lookups import USER_BY_REFERENCE, find_user, lookup_params
from rbac.models import (
    EffectiveAccess,
    Group,
    GroupAssignment,
    Organization,
    Resource,
    User,
    WorkforceAgent,
)
from rbac.resources import (
    RESOURCE_BY_ADDRESS,
    find_resource,
    parse_address,
    resource_ancestors,
    resource_path,
)
from rbac.user_access import evaluate_users
from rbac.wording import SourceWords

_PERMISSION_SCOPES = {"org": Scope.ORGANIZATION, "project": Scope.PROJECT, "asset": Scope.ASSET}


@dataclass(frozen=True)
class Decision:
    """The answer to check: allowed or not, the role that decided, and its winning source."""

    allowed: bool
    role: str | None
    source: str | None
    reason: str
    additive: tuple[str, ...] = ()


def check(
    session: Session, catalog: Catalog, user: User, permission: str, resource: Resource
) -> Decision:
    """Return whether a user may use a permission on a resource, from materialised access."""
    row = session.get(EffectiveAccess, (user.id, resource.id))
    return _decide(session, catalog, user, permission, resource, row)


def check_each(
    session: Session, catalog: Catalog, user: User, permission: str, resources: list[Resource]
) -> list[Decision]:
    """check() for one user and permission on many resources, their rows read at once."""
    ids = [resource.id for resource in resources]
    rows = session.scalars(
        select(EffectiveAccess).where(
            EffectiveAccess.user_id == user.id, EffectiveAccess.resource_id.in_(ids)
        )
    )
    by_resource = {row.resource_id: row for row in rows}
    return [
        _decide(session, catalog, user, permission, resource, by_resource.get(resource.id))
        for resource in resources
    ]


def check_named(
    session: Session, catalog: Catalog, org: Organization, user: str, permission: str, address: str
) -> Decision:
    """check() for a user named by id or userName and a resource by its address.

    The user, the resource and the materialised row come in one statement; when that finds
    no single answer, the lookups run apart and say what is missing or ambiguous.
    """
    form, names = parse_address(address)
    params = {**lookup_params(org, user), **names}
    rows = session.execute(_NAMED_CHECKS[form], params).all()
    answers = [row for row in rows if row[0].id == user] or rows
    if len(answers) != 1:
        found_user, resource = find_user(session, org, user), find_resource(session, org, address)
        return check(session, catalog, found_user, permission, resource)
    found_user, resource, row = answers[0]
    return _decide(session, catalog, found_user, permission, resource, row)


def _decide(session, catalog, user, permission, resource, row) -> Decision:
    scope = ResourceKind(resource.kind).scope
    if _PERMISSION_SCOPES.get(permission.partition(".")[0]) != scope:
        raise InvalidValue(f"{permission!r} is not a permission on a {scope.value}")
    if permission not in catalog.permission_ids:
        raise InvalidValue(f"unknown permission {permission!r} (see `rolecall catalog`)")
    access = _access_of(row)
    role, source = (row.role, row.source) if row else (None, None)
    additive = tuple(sorted(row.additive)) if row else ()
    if permission not in permissions_of(catalog, scope, access):
        held = f"holds {role}" if role else "holds no role"
        reason = f"{held} on it, which does not grant {permission}"
        return Decision(False, role, source, reason, additive)
    if blocker := workforce_blocker(session, catalog, user, permission, resource):
        return Decision(False, role, source, blocker, additive)
    if role is not None and permission in catalog.role(scope, role).permissions:
        return Decision(True, role, source, f"{role} grants {permission}", additive)
    # Only an additive role grants it: that role, and where it comes from, are the answer.
    granting = next(a for a in additive if permission in catalog.role(scope, a).permissions)
    source = _additive_source(session, catalog, user, resource, granting)
    reason = f"{granting} (an additive role) grants {permission}"
    return Decision(True, role, source, reason, additive)


def _additive_source(session, catalog, user, resource, additive_role: str) -> str | None:
    """Where a user's additive role on a resource comes from (not materialised: evaluated)."""
    ctx = Context(session, catalog, session.get(Organization, user.organization_id))
    evaluated = evaluate_users(ctx, [user.id])
    access = evaluated.access.get(user.id, {}).get(resource.id)
    held = [s for s in (access.sources if access else ()) if s.role == additive_role]
    if not held:
        return None
    return SourceWords(session, held, evaluated.resources).label(held[0])


def _named_check(resource_by_address):
    user = aliased(User, USER_BY_REFERENCE.subquery("named_user"))
    resource = aliased(Resource, resource_by_address.subquery("addressed"))
    return (
        select(user, resource, EffectiveAccess)
        .join_from(user, resource, true())
        .outerjoin(
            EffectiveAccess,
            and_(EffectiveAccess.user_id == user.id, EffectiveAccess.resource_id == resource.id),
        )
    )


# Built once, run with values bound: composing a statement costs more than running it.
_NAMED_CHECKS = {form: _named_check(query) for form, query in RESOURCE_BY_ADDRESS.items()}


def workforce_blocker(
    session: Session, catalog: Catalog, user: User, permission: str, resource: Resource
) -> str | None:
    """Return why the workforce rule denies a permission on a workforce, or None if it does not.

    Seed 002: running, editing or viewing a workforce needs the same right on every agent it
    uses; other permissions (delete, assign roles, audit logs) concern the workforce alone.
    """
    if (
        resource.kind != ResourceKind.WORKFORCE.value
        or permission not in catalog.workforce_permissions
    ):
        return None
    agents = session.scalars(
        select(Resource)
        .join(WorkforceAgent, WorkforceAgent.agent_id == Resource.id)
        .where(WorkforceAgent.workforce_id == resource.id)
        .order_by(Resource.slug)
    )
    for agent in agents:
        access = _access_of(session.get(EffectiveAccess, (user.id, agent.id)))
        if permission not in permissions_of(catalog, Scope.ASSET, access):
            held = access.role if access and access.role else "no role"
            return (
                f"the workforce uses agent {agent.slug!r}, on which it holds {held}, "
                f"which does not grant {permission} (workforce rule)"
            )
    return None


@dataclass(frozen=True)
class Explanation:
    """Every source of a user's role on a resource, the winner, and the materialised state."""

    resource: str
    access: Access | None
    reasons: dict[Source, str]  # each source in words: where it comes from, and why
    materialised_role: str | None
    active: bool
    # For a workforce: the permissions its agents withhold, each with why.
    workforce_rule: dict[str, str]
    # Sources held but not in effect (a deactivated user's, or group roles switched off).
    suspended: tuple[Source, ...] = ()
    suspended_because: str | None = None


def explain(ctx: Context, user: User, resource: Resource) -> Explanation:
    """Evaluate a user's access to a resource from the base tables, with every source.

    Sources the user holds but that are not in effect, because the user is deactivated or
    the organization's group roles are off, are listed apart, with why.
    """
    evaluated = evaluate_users(ctx, [user.id])
    access = evaluated.access.get(user.id, {}).get(resource.id)
    row = ctx.session.get(EffectiveAccess, (user.id, resource.id))
    resources = {**evaluated.resources, **resource_ancestors(ctx.session, resource)}
    sources = access.sources if access else ()
    suspended, because = (), None
    if not user.active or not ctx.org.group_roles_enabled:
        held = evaluate_users(ctx, [user.id], {user.id: True}, group_roles=True)
        resources |= held.resources
        would = held.access.get(user.id, {}).get(resource.id)
        suspended = tuple(s for s in (would.sources if would else ()) if s not in sources)
        because = "the user is deactivated" if not user.active else "group roles are off"
    words = SourceWords(ctx.session, (*sources, *suspended), resources)
    withheld = {}
    for permission in sorted(ctx.catalog.workforce_permissions):
        if blocker := workforce_blocker(ctx.session, ctx.catalog, user, permission, resource):
            withheld[permission] = blocker
    return Explanation(
        resource_path(resource, resources),
        access,
        {s: words.reason(s) for s in (*sources, *suspended)},
        row.role if row else None,
        user.active,
        withheld,
        suspended,
        because,
    )


def explain_document(ctx: Context, user: User, resource: Resource) -> dict:
    """Return `explain` as the CLI's --json and the API print it: sources, winner, rule."""
    result = explain(ctx, user, resource)
    access = result.access
    winner = access.source if access else None
    return {
        "user": user.user_name,
        "resource": result.resource,
        "active": result.active,
        "role": access.role if access else None,
        "additive": sorted(access.additive) if access else [],
        "winner": winner.kind.value if winner else None,
        "winner_detail": result.reasons[winner] if winner else None,
        "sources": [
            {**_source_document(result, source), "wins": source == winner}
            for source in (access.sources if access else ())
        ],
        "suspended": [
            {**_source_document(result, source), "because": result.suspended_because}
            for source in result.suspended
        ],
        "workforce_rule": result.workforce_rule,
        "materialised_role": result.materialised_role,
    }


def _source_document(result: Explanation, source: Source) -> dict:
    return {"kind": source.kind.value, "role": source.role, "detail": result.reasons[source]}


def explain_group(ctx: Context, group: Group) -> dict:
    """Return what a group grants (its own and inherited assignments) and to whom."""
    inherited_from = ancestor_groups(ctx.session, [group.id])
    rows = ctx.session.execute(
        select(GroupAssignment, Resource, Group.display_name)
        .join(Resource, Resource.id == GroupAssignment.resource_id)
        .join(Group, Group.id == GroupAssignment.group_id)
        .where(GroupAssignment.group_id.in_(inherited_from))
        .order_by(Resource.id, GroupAssignment.role)
    ).all()
    parents = {}
    for _, resource, _ in rows:
        parents.update(resource_ancestors(ctx.session, resource))
    members = transitive_members(ctx.session, group.id)
    names = dict(
        ctx.session.execute(select(User.id, User.user_name).where(User.id.in_(members))).all()
    )
    return {
        "group": group.display_name,
        "local": group.directory_id is None,
        "grants": [
            {
                "resource": resource_path(resource, parents),
                "role": assignment.role,
                "through": None if assignment.group_id == group.id else name,
            }
            for assignment, resource, name in rows
        ],
        "members": sorted(names.get(m, m) for m in members),
        "group_roles_enabled": ctx.org.group_roles_enabled,
    }


@dataclass(frozen=True)
class Drift:
    """One (user, resource) whose materialised access or its source differs from a recomputation."""

    user_id: str
    resource_id: int
    materialised: tuple[str | None, tuple[str, ...]] | None
    recomputed: tuple[str | None, tuple[str, ...]] | None
    materialised_source: str | None = None
    recomputed_source: str | None = None


def verify(ctx: Context) -> list[Drift]:
    """Recompute every user's access from the base tables and list what differs.

    The source each row names (what `check` prints as the reason) is compared too.
    """
    session = ctx.session
    access = EffectiveAccess
    rows = session.execute(
        select(
            access.user_id, access.resource_id, access.role, access.additive, access.source
        ).where(access.organization_id == ctx.org.id)
    ).all()
    user_ids = set(session.scalars(select(User.id).where(User.organization_id == ctx.org.id)))
    user_ids |= {row.user_id for row in rows}
    evaluated = evaluate_users(ctx, user_ids)
    materialised = {
        (r.user_id, r.resource_id): (r.role, tuple(sorted(r.additive)), r.source) for r in rows
    }
    sources = {a.source for by_resource in evaluated.access.values() for a in by_resource.values()}
    words = SourceWords(session, sources, evaluated.resources)
    labels = {source: words.label(source) for source in sources}
    recomputed = {
        (user_id, resource_id): (access.role, tuple(sorted(access.additive)), labels[access.source])
        for user_id, by_resource in evaluated.access.items()
        for resource_id, access in by_resource.items()
    }
    drift = []
    for key in sorted(materialised.keys() | recomputed.keys()):
        old, new = materialised.get(key), recomputed.get(key)
        if old != new:
            old_source, new_source = old[2] if old else None, new[2] if new else None
            drift.append(Drift(*key, old and old[:2], new and new[:2], old_source, new_source))
    return drift


def _access_of(row: EffectiveAccess | None) -> Access | None:
    """A materialised row as the Access that permissions_of reads."""
    return Access(row.role, None, frozenset(row.additive)) if row else None
