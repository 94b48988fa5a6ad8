"""Users' effective access evaluated from the base tables alone (sources gathered, then pure rules).

The sources of a user's roles are the org's default role, direct grants (the creator's admin
role on an asset is one), and the assignments of every group the user belongs to, directly or
through nesting (unless the org's group-roles switch is off). `rbac.evaluation` turns them
into the winning role per resource, cascades included.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, select

from rbac.bulk import among, rows_by_id
from rbac.context import Context
from rbac.evaluation import Access, ResourceKind, Source, SourceKind, evaluate
from rbac.group_graph import ancestors_of_each
from rbac.models import Grant, GroupAssignment, GroupMembership, Resource, User
from rbac.resources import org_resource, resource_ref


@dataclass
class EvaluatedAccess:
    """Users' access per resource, and every resource it names (for paths and cascades)."""

    access: dict[str, dict[int, Access]]  # user id -> resource id -> access
    resources: dict[int, Resource]


def evaluate_users(
    ctx: Context,
    user_ids: Iterable[str],
    active: dict[str, bool] | None = None,
    fresh: Iterable[str] = (),
    group_roles: bool | None = None,
) -> EvaluatedAccess:
    """Evaluate users' effective access from the base tables alone.

    `active` is each user's active flag, when the caller read it already (`users_active`);
    `fresh` users were created by this transaction and hold nothing but the default role;
    `group_roles` overrides the org's switch (explain shows what it withholds).
    """
    session, org = ctx.session, ctx.org
    if active is None:
        active = dict(session.execute(users_active(ctx, user_ids)).all())
    org_row = org_resource(session, org)  # held: the session's identity map is weak
    org_id = org_row.id
    sources: dict[str, list[Source]] = {user_id: [] for user_id in active}
    existing = active.keys() - set(fresh)

    if org.default_role:
        for user_id in active:
            sources[user_id].append(Source(SourceKind.DEFAULT, org.default_role, org_id))
    if existing:
        for user_id, resource_id, role in session.execute(
            select(Grant.user_id, Grant.resource_id, Grant.role).where(
                among(session, Grant.user_id, existing)
            )
        ):
            sources[user_id].append(Source(SourceKind.DIRECT, role, resource_id))
    if existing and (org.group_roles_enabled if group_roles is None else group_roles):
        for user_id, group_sources in _group_sources(session, existing).items():
            sources[user_id] += group_sources

    resources = _universe(ctx, org_row, sources)
    refs = {r.id: resource_ref(r) for r in resources.values()}
    # Members of the same groups hold the same sources: evaluate each distinct set once.
    evaluated: dict[tuple, dict[int, Access]] = {}
    access = {}
    for user_id, held in sources.items():
        key = (active.get(user_id, False), *held)
        if key not in evaluated:
            evaluated[key] = evaluate(ctx.catalog, refs, held, active=key[0])
        access[user_id] = evaluated[key]
    return EvaluatedAccess(access, resources)


def users_active(ctx: Context, user_ids: Iterable[str]) -> Select:
    """The statement reading the organization's users among these ids: (id, active)."""
    return select(User.id, User.active).where(
        among(ctx.session, User.id, sorted(user_ids)), User.organization_id == ctx.org.id
    )


def _group_sources(session, user_ids) -> dict[str, list[Source]]:
    """Every role users inherit from the groups they belong to, at any depth of nesting."""
    direct_groups: dict[str, set[str]] = {}
    for user_id, group_id in session.execute(
        select(GroupMembership.user_id, GroupMembership.group_id).where(
            among(session, GroupMembership.user_id, user_ids)
        )
    ):
        direct_groups.setdefault(user_id, set()).add(group_id)
    if not direct_groups:
        return {}
    closure = ancestors_of_each(session, set().union(*direct_groups.values()))
    all_groups = set().union(*closure.values()) if closure else set()
    assignments: dict[str, list[tuple[int, str]]] = {}
    for group_id, resource_id, role in session.execute(
        select(GroupAssignment.group_id, GroupAssignment.resource_id, GroupAssignment.role).where(
            GroupAssignment.group_id.in_(all_groups)
        )
    ):
        assignments.setdefault(group_id, []).append((resource_id, role))
    found: dict[str, list[Source]] = {}
    for user_id, groups in direct_groups.items():
        reachable = set().union(*(closure[g] for g in groups))
        found[user_id] = [
            Source(SourceKind.GROUP, role, resource_id, group_id=group_id)
            for group_id in sorted(reachable)
            for resource_id, role in assignments.get(group_id, [])
        ]
    return found


def _universe(ctx: Context, org_row: Resource, sources) -> dict[int, Resource]:
    """Load every resource the sources name, their ancestors, and what their roles cascade to."""
    session, org_id = ctx.session, org_row.id
    named = {s.resource_id for held in sources.values() for s in held} - {org_id}
    loaded = {org_id: org_row} | rows_by_id(session, Resource, named)
    parents = {r.parent_id for r in loaded.values() if r.parent_id} - loaded.keys()
    while parents:
        loaded |= rows_by_id(session, Resource, parents)
        parents = {r.parent_id for r in loaded.values() if r.parent_id} - loaded.keys()

    cascades = ctx.catalog.cascades
    roles_on = {(s.resource_id, s.role) for held in sources.values() for s in held}
    if any(rid == org_id and role in cascades.org_roles_admin_everywhere for rid, role in roles_on):
        for r in session.scalars(select(Resource).where(Resource.organization_id == ctx.org.id)):
            loaded[r.id] = r
    else:
        admin_projects = {
            rid
            for rid, role in roles_on
            if rid in loaded
            and loaded[rid].kind == ResourceKind.PROJECT.value
            and role in cascades.project_roles_admin_of_assets
        }
        if admin_projects:
            for r in session.scalars(
                select(Resource).where(Resource.parent_id.in_(admin_projects))
            ):
                loaded[r.id] = r
    return loaded
