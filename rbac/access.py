"""Effective access, materialised and maintained incrementally, with its access-change events.

Every change of the base tables (memberships, grants, group assignments, users, resources)
names the users it affects; `recompute` evaluates those users from the base tables
(`rbac.evaluation`), diffs the result with `effective_access`, writes the difference and one
event per changed (user, resource), in the caller's transaction. It never scans a group's
other members or the organization's other users.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Text, cast, func, select
from sqlalchemy.orm import Session

from rbac import events as directory_events
from rbac.catalog import Catalog, Scope
from rbac.errors import NotFound
from rbac.evaluation import Access, ResourceKind, ResourceRef, Source, SourceKind, evaluate
from rbac.models import (
    EffectiveAccess,
    Event,
    Grant,
    Group,
    GroupAssignment,
    GroupChild,
    GroupMembership,
    Organization,
    Resource,
    User,
)

ASSET_KINDS = tuple(k.value for k in ResourceKind if k.scope == Scope.ASSET)


@dataclass(frozen=True)
class Cause:
    """Why access changed, and who caused it (a SCIM request's correlation id, an admin)."""

    kind: str
    actor: str
    detail: tuple[tuple[str, str | int], ...] = ()

    def as_dict(self) -> dict:
        """Return the cause as event data."""
        return {"type": self.kind, "actor": self.actor, **dict(self.detail)}


# -- resources ----------------------------------------------------------------------------


def org_resource(session: Session, org: Organization) -> Resource:
    """Return the resource standing for the organization itself, creating it if missing."""
    resource = session.scalar(
        select(Resource).where(
            Resource.organization_id == org.id, Resource.kind == ResourceKind.ORGANIZATION.value
        )
    )
    if resource is None:
        resource = Resource(
            organization_id=org.id, kind=ResourceKind.ORGANIZATION.value, slug=org.slug
        )
        session.add(resource)
        session.flush()
    return resource


def resource_path(resource: Resource, parents: dict[int, Resource]) -> str:
    """Return a resource's address: org, project:SLUG or asset:PROJECT/SLUG."""
    if resource.kind == ResourceKind.ORGANIZATION.value:
        return "org"
    if resource.kind == ResourceKind.PROJECT.value:
        return f"project:{resource.slug}"
    return f"asset:{parents[resource.parent_id].slug}/{resource.slug}"


def find_resource(session: Session, org: Organization, address: str) -> Resource:
    """Resolve org, project:PROJECT or asset:PROJECT/ASSET; raise NotFound or ValueError."""
    kind, _, rest = address.partition(":")
    if address == "org":
        return org_resource(session, org)
    if kind == "project" and rest and "/" not in rest:
        project = _child(session, org, org_resource(session, org).id, rest, "project")
        return project
    if kind == "asset" and rest.count("/") == 1:
        project_slug, asset_slug = rest.split("/")
        project = _child(session, org, org_resource(session, org).id, project_slug, "project")
        return _child(session, org, project.id, asset_slug, "asset")
    raise ValueError(f"{address!r} is not org, project:PROJECT or asset:PROJECT/ASSET")


def _child(session, org, parent_id, slug, what) -> Resource:
    found = session.scalar(
        select(Resource).where(
            Resource.organization_id == org.id,
            Resource.parent_id == parent_id,
            Resource.slug == slug,
        )
    )
    if found is None:
        raise NotFound(f"no {what} {slug!r} in organization {org.slug!r}")
    return found


# -- evaluation from the base tables ------------------------------------------------------


def _closure(session: Session, start: Iterable[str], edge_from, edge_to) -> set[str]:
    """Return start and everything reachable from it along group_children edges."""
    seen = set(start)
    frontier = set(seen)
    while frontier:
        found = set(session.scalars(select(edge_to).where(edge_from.in_(frontier))))
        frontier = found - seen
        seen |= frontier
    return seen


def transitive_groups(session: Session, group_ids: Iterable[str]) -> set[str]:
    """Return these groups and every group that contains one of them, at any depth."""
    return _closure(session, group_ids, GroupChild.child_group_id, GroupChild.group_id)


def descendant_groups(session: Session, group_id: str) -> set[str]:
    """Return a group and every group inside it, at any depth."""
    return _closure(session, [group_id], GroupChild.group_id, GroupChild.child_group_id)


def _ancestor_closures(session: Session, group_ids: set[str]) -> dict[str, set[str]]:
    """Return, for each group, itself and every group containing it: one query per depth."""
    parents: dict[str, set[str]] = {}
    seen, frontier = set(group_ids), set(group_ids)
    while frontier:
        edges = session.execute(
            select(GroupChild.child_group_id, GroupChild.group_id).where(
                GroupChild.child_group_id.in_(frontier)
            )
        ).all()
        for child, parent in edges:
            parents.setdefault(child, set()).add(parent)
        frontier = {parent for _, parent in edges} - seen
        seen |= frontier

    closures: dict[str, set[str]] = {}

    def ancestors(group_id: str) -> set[str]:
        if group_id not in closures:
            closures[group_id] = {group_id}  # a cycle (refused on write) cannot recurse forever
            for parent in parents.get(group_id, ()):
                closures[group_id] |= ancestors(parent)
        return closures[group_id]

    return {group_id: ancestors(group_id) for group_id in group_ids}


def transitive_members(session: Session, group_id: str) -> set[str]:
    """Return the users of a group and of every group inside it, at any depth."""
    groups = descendant_groups(session, group_id)
    return set(
        session.scalars(select(GroupMembership.user_id).where(GroupMembership.group_id.in_(groups)))
    )


@dataclass
class _Evaluated:
    access: dict[str, dict[int, Access]]  # user id -> resource id -> access
    resources: dict[int, Resource]


def evaluate_users(
    session: Session, catalog: Catalog, org: Organization, user_ids: Iterable[str]
) -> _Evaluated:
    """Evaluate users' effective access from the base tables alone."""
    user_ids = set(user_ids)
    active = dict(
        session.execute(
            select(User.id, User.active).where(
                User.id.in_(user_ids), User.organization_id == org.id
            )
        ).all()
    )
    org_id = org_resource(session, org).id
    sources: dict[str, list[Source]] = {user_id: [] for user_id in active}

    if org.default_role:
        for user_id in active:
            sources[user_id].append(Source(SourceKind.DEFAULT, org.default_role, org_id))
    for user_id, resource_id, role in session.execute(
        select(Grant.user_id, Grant.resource_id, Grant.role).where(Grant.user_id.in_(active))
    ):
        sources[user_id].append(Source(SourceKind.DIRECT, role, resource_id))
    for resource_id, user_id in session.execute(
        select(Resource.id, Resource.created_by_user_id).where(
            Resource.created_by_user_id.in_(active), Resource.kind.in_(ASSET_KINDS)
        )
    ):
        sources[user_id].append(
            Source(SourceKind.CREATOR, catalog.cascades.creator_asset_role, resource_id)
        )
    if org.group_roles_enabled:
        direct_groups: dict[str, set[str]] = {}
        for user_id, group_id in session.execute(
            select(GroupMembership.user_id, GroupMembership.group_id).where(
                GroupMembership.user_id.in_(active)
            )
        ):
            direct_groups.setdefault(user_id, set()).add(group_id)
        closure = _ancestor_closures(session, set().union(*direct_groups.values()))
        all_groups = set().union(*closure.values()) if closure else set()
        assignments: dict[str, list[tuple[int, str]]] = {}
        for group_id, resource_id, role in session.execute(
            select(
                GroupAssignment.group_id, GroupAssignment.resource_id, GroupAssignment.role
            ).where(GroupAssignment.group_id.in_(all_groups))
        ):
            assignments.setdefault(group_id, []).append((resource_id, role))
        for user_id, groups in direct_groups.items():
            reachable = set().union(*(closure[g] for g in groups))
            for group_id in sorted(reachable):
                for resource_id, role in assignments.get(group_id, []):
                    sources[user_id].append(
                        Source(SourceKind.GROUP, role, resource_id, group_id=group_id)
                    )

    resources = _universe(session, catalog, org, org_id, sources)
    refs = {r.id: _ref(r) for r in resources.values()}
    return _Evaluated(
        {
            user_id: evaluate(catalog, refs, held, active=active.get(user_id, False))
            for user_id, held in sources.items()
        },
        resources,
    )


def _universe(session, catalog, org, org_id, sources) -> dict[int, Resource]:
    """Load every resource the sources name, their ancestors, and what their roles cascade to."""
    named = {s.resource_id for held in sources.values() for s in held} | {org_id}
    loaded = {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(named)))}
    parents = {r.parent_id for r in loaded.values() if r.parent_id} - loaded.keys()
    while parents:
        for r in session.scalars(select(Resource).where(Resource.id.in_(parents))):
            loaded[r.id] = r
        parents = {r.parent_id for r in loaded.values() if r.parent_id} - loaded.keys()

    cascades = catalog.cascades
    roles_on = {(s.resource_id, s.role) for held in sources.values() for s in held}
    if any(rid == org_id and role in cascades.org_roles_admin_everywhere for rid, role in roles_on):
        for r in session.scalars(select(Resource).where(Resource.organization_id == org.id)):
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


def _ref(resource: Resource) -> ResourceRef:
    kind = ResourceKind(resource.kind)
    return ResourceRef(resource.id, kind, resource.parent_id if kind.scope == Scope.ASSET else None)


# -- incremental maintenance --------------------------------------------------------------


def recompute(
    session: Session, catalog: Catalog, org: Organization, user_ids: Iterable[str], cause: Cause
) -> int:
    """Bring these users' materialised access up to date; write one event per change."""
    user_ids = set(user_ids)
    if not user_ids:
        return 0
    # Concurrent requests may change one user's access through different groups (Entra sends
    # several PATCHes at once). Lock the users, in a fixed order, so that each recomputation
    # reads what the previous one committed (PostgreSQL; SQLite has one writer at a time).
    # NO KEY UPDATE: the membership insert already holds KEY SHARE on the user through its
    # foreign key, and FOR UPDATE would deadlock against another request's KEY SHARE.
    session.execute(
        select(User.id)
        .where(User.id.in_(sorted(user_ids)))
        .order_by(User.id)
        .with_for_update(key_share=True)
    )
    evaluated = evaluate_users(session, catalog, org, user_ids)
    current: dict[tuple[str, int], EffectiveAccess] = {
        (row.user_id, row.resource_id): row
        for row in session.scalars(
            select(EffectiveAccess).where(EffectiveAccess.user_id.in_(user_ids))
        )
    }
    wanted = {
        (user_id, resource_id): access
        for user_id, by_resource in evaluated.access.items()
        for resource_id, access in by_resource.items()
    }
    resources = dict(evaluated.resources)
    missing = {rid for _, rid in current.keys() - wanted.keys()} - resources.keys()
    if missing:
        resources.update(
            {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(missing)))}
        )

    describe = _describer(session, wanted.values(), resources)
    changes = 0
    for key in sorted(current.keys() | wanted.keys()):
        user_id, resource_id = key
        row, access = current.get(key), wanted.get(key)
        old = (row.role, sorted(row.additive)) if row else (None, [])
        new = (access.role, sorted(access.additive)) if access else (None, [])
        if old == new:
            if row is not None and access is not None:
                row.source = describe(access.source)
            continue
        if access is None:
            session.delete(row)
            kind = "access.revoked"
        elif row is None:
            session.add(
                EffectiveAccess(
                    user_id=user_id,
                    resource_id=resource_id,
                    organization_id=org.id,
                    role=access.role,
                    additive=sorted(access.additive),
                    source=describe(access.source),
                )
            )
            kind = "access.granted"
        else:
            row.role, row.additive, row.source = (
                access.role,
                sorted(access.additive),
                describe(access.source),
            )
            kind = "access.changed"
        resource = resources.get(resource_id)
        record_event(
            session,
            org.id,
            kind,
            {
                "user_id": user_id,
                "resource_id": resource_id,
                "resource": resource_path(resource, resources) if resource else None,
                "old_role": old[0],
                "new_role": new[0],
                "old_additive": old[1],
                "new_additive": new[1],
                "source": describe(access.source) if access else None,
                "cause": cause.as_dict(),
            },
        )
        changes += 1
    session.flush()
    return changes


def _describer(session: Session, accesses, resources: dict[int, Resource]):
    """Return a function naming a winning source in words, with group names and paths."""
    group_ids = {a.source.group_id for a in accesses if a.source and a.source.group_id}
    rows = session.execute(select(Group.id, Group.display_name).where(Group.id.in_(group_ids)))
    names = {group_id: name for group_id, name in rows}

    def describe(source: Source | None) -> str | None:
        if source is None:
            return None
        if source.kind == SourceKind.GROUP:
            return f"group {names.get(source.group_id, source.group_id)}"
        if source.kind == SourceKind.CASCADE and source.from_resource_id in resources:
            origin = resource_path(resources[source.from_resource_id], resources)
            return f"cascade from {source.from_role} on {origin}"
        return source.describe()

    return describe


# -- events -------------------------------------------------------------------------------


def record_event(session: Session, org_id: int, kind: str, data: dict) -> Event:
    """Append an event to the organization's stream, in the caller's transaction."""
    event = Event(organization_id=org_id, type=kind, data=data, txid=_transaction_id(session))
    session.add(event)
    return event


def _transaction_id(session: Session) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None  # SQLite has one writer at a time: ids commit in order.
    # One round trip per transaction, not per event.
    transaction = session.get_transaction()
    cached = session.info.get("rolecall.txid")
    if cached is not None and cached[0] is transaction:
        return cached[1]
    txid = session.scalar(select(cast(cast(func.pg_current_xact_id(), Text), BigInteger)))
    session.info["rolecall.txid"] = (transaction, txid)
    return txid


def read_events(session: Session, org_id: int, after: int = 0, limit: int = 100) -> list[Event]:
    """Return the organization's events after a cursor, oldest first, never skipping one."""
    query = select(Event).where(Event.organization_id == org_id, Event.id > after)
    if session.get_bind().dialect.name == "postgresql":
        # Stop before the oldest transaction still in flight: an event it writes later gets
        # a smaller id than ones already visible, and a cursor past it would skip it.
        horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
        query = query.where(Event.txid < horizon)
    return list(session.scalars(query.order_by(Event.id).limit(limit)))


# -- directory events ---------------------------------------------------------------------

_DSYNC = {
    directory_events.UserCreated: "dsync.user.created",
    directory_events.UserUpdated: "dsync.user.updated",
    directory_events.UserDeactivated: "dsync.user.updated",
    directory_events.UserReactivated: "dsync.user.updated",
    directory_events.UserDeleted: "dsync.user.deleted",
    directory_events.GroupCreated: "dsync.group.created",
    directory_events.GroupUpdated: "dsync.group.updated",
    directory_events.GroupDeleted: "dsync.group.deleted",
    directory_events.MemberAdded: "dsync.group.user_added",
    directory_events.MemberRemoved: "dsync.group.user_removed",
    # WorkOS has no event for a group inside a group: these two are Rolecall's own.
    directory_events.GroupNested: "group.nested",
    directory_events.GroupUnnested: "group.unnested",
}
_CAUSES = {
    directory_events.UserCreated: "user_created",
    directory_events.UserDeactivated: "user_deactivated",
    directory_events.UserReactivated: "user_reactivated",
    directory_events.UserDeleted: "user_deleted",
    directory_events.GroupDeleted: "group_deleted",
    directory_events.MemberAdded: "membership_added",
    directory_events.MemberRemoved: "membership_removed",
    directory_events.GroupNested: "group_nested",
    directory_events.GroupUnnested: "group_unnested",
}


def apply_directory_events(
    session: Session,
    catalog: Catalog,
    org: Organization,
    changes: list[directory_events.DirectoryEvent],
    actor: str,
) -> None:
    """Record directory events (WorkOS dsync.* names) and recompute the access they affect."""
    affected: dict[Cause, set[str]] = {}
    seen: set[str] = set()
    for change in changes:
        data = dict(vars(change))
        if isinstance(change, directory_events.UserDeactivated | directory_events.UserReactivated):
            data["state"] = (
                "inactive" if isinstance(change, directory_events.UserDeactivated) else "active"
            )
        record_event(session, org.id, _DSYNC[type(change)], {**data, "actor": actor})
        if type(change) not in _CAUSES:
            continue
        if isinstance(change, directory_events.GroupNested | directory_events.GroupUnnested):
            users = transitive_members(session, change.child_group_id)
        else:
            users = set(getattr(change, "member_ids", ())) or {getattr(change, "user_id", None)}
        users = {u for u in users if u and u not in seen}
        seen |= users
        detail = (("group_id", change.group_id),) if hasattr(change, "group_id") else ()
        affected.setdefault(Cause(_CAUSES[type(change)], actor, detail), set()).update(users)
    for cause, users in affected.items():
        recompute(session, catalog, org, users, cause)
