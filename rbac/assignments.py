"""Admin operations on the RBAC model: resources, direct grants, group assignments, nesting.

Each takes a session, flushes, never commits, recomputes exactly the users it affects and
records why. Safety rails (seed 003) refuse an admin action that would leave the organization
without an active Owner; IdP-driven changes are never refused, they raise an alert instead.
"""

import re

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rbac import provisioning
from rbac.access import (
    Cause,
    apply_directory_events,
    descendant_groups,
    org_resource,
    recompute,
    record_event,
    transitive_members,
)
from rbac.catalog import Catalog, Scope
from rbac.db import casefold_key
from rbac.errors import Conflict, InvalidValue, NeedsConfirmation, Refused
from rbac.evaluation import ResourceKind
from rbac.models import (
    EffectiveAccess,
    Grant,
    Group,
    GroupAssignment,
    GroupChild,
    Organization,
    Resource,
    User,
    WorkforceAgent,
)

# Slugs name resources in addresses (project:SLUG, asset:PROJECT/SLUG): no ':' or '/'.
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def create_project(session: Session, catalog: Catalog, org: Organization, slug: str, actor: str):
    """Create a project; org owners and admins become its admins by cascade."""
    parent = org_resource(session, org)
    project = _new_resource(session, org, ResourceKind.PROJECT, parent, slug, None)
    admins = _holders(session, parent.id, catalog.cascades.org_roles_admin_everywhere)
    recompute(
        session,
        catalog,
        org,
        admins,
        Cause("resource_created", actor, (("resource_id", project.id),)),
    )
    return project


def create_asset(
    session: Session,
    catalog: Catalog,
    org: Organization,
    project: Resource,
    kind: ResourceKind,
    slug: str,
    actor: str,
    creator: User | None = None,
    uses: list[Resource] = (),
) -> Resource:
    """Create an asset in a project; its creator is its admin, and cascades apply."""
    if kind.scope != Scope.ASSET:
        raise ValueError(f"{kind.value} is not an asset kind")
    if uses and kind != ResourceKind.WORKFORCE:
        raise ValueError("only a workforce uses agents")
    for agent in uses:
        if agent.kind != ResourceKind.AGENT.value or agent.organization_id != org.id:
            raise ValueError(f"{agent.slug!r} is not an agent of this organization")
    asset = _new_resource(session, org, kind, project, slug, creator)
    for agent in uses:
        session.add(WorkforceAgent(workforce_id=asset.id, agent_id=agent.id))
    cause = Cause("resource_created", actor, (("resource_id", asset.id),))
    holders = _holders(
        session, org_resource(session, org).id, catalog.cascades.org_roles_admin_everywhere
    )
    holders |= _holders(session, project.id, catalog.cascades.project_roles_admin_of_assets)
    if creator is not None:
        holders.add(creator.id)
    recompute(session, catalog, org, holders, cause)
    return asset


def grant_role(
    session, catalog, org, user: User, role: str, resource: Resource, actor: str
) -> bool:
    """Give a user a role on a resource directly; return False if it was already given."""
    role = catalog.role(ResourceKind(resource.kind).scope, role).name
    exists = select(Grant.id).where(
        Grant.user_id == user.id, Grant.resource_id == resource.id, Grant.role == role
    )
    if session.scalar(exists) is not None:
        return False
    session.add(Grant(user_id=user.id, resource_id=resource.id, role=role, granted_by=actor))
    session.flush()
    recompute(session, catalog, org, {user.id}, _cause("direct_grant", actor, resource, role))
    return True


def revoke_role(
    session, catalog, org, user: User, role: str, resource: Resource, actor: str
) -> bool:
    """Take back a direct grant; refused if it would leave the org without an active Owner."""
    role = catalog.role(ResourceKind(resource.kind).scope, role).name
    owners_before = active_owners(session, catalog, org)
    removed = session.execute(
        delete(Grant).where(
            Grant.user_id == user.id, Grant.resource_id == resource.id, Grant.role == role
        )
    ).rowcount
    if not removed:
        return False
    recompute(session, catalog, org, {user.id}, _cause("direct_revoke", actor, resource, role))
    _guard_last_owner(session, catalog, org, owners_before)
    return True


def assign_group(
    session,
    catalog,
    org,
    group: Group,
    role: str,
    resource: Resource,
    actor: str,
    acting_user: User | None = None,
) -> bool:
    """Let a group hold a role on a resource; every transitive member inherits it."""
    role_ = catalog.role(ResourceKind(resource.kind).scope, role)
    if (
        acting_user is not None
        and resource.kind == ResourceKind.ORGANIZATION.value
        and role_.name == catalog.highest(Scope.ORGANIZATION).name
        and not _holds(session, acting_user, resource, role_.name)
    ):
        raise Refused("only an Owner may give the Owner role to a group")
    exists = select(GroupAssignment.id).where(
        GroupAssignment.group_id == group.id,
        GroupAssignment.resource_id == resource.id,
        GroupAssignment.role == role_.name,
    )
    if session.scalar(exists) is not None:
        return False
    session.add(
        GroupAssignment(
            group_id=group.id, resource_id=resource.id, role=role_.name, assigned_by=actor
        )
    )
    session.flush()
    recompute(
        session,
        catalog,
        org,
        transitive_members(session, group.id),
        _cause("group_assigned", actor, resource, role_.name, group),
    )
    return True


def unassign_group(
    session,
    catalog,
    org,
    group: Group,
    role: str,
    resource: Resource,
    actor: str,
    acting_user: User | None = None,
    confirm: bool = False,
) -> bool:
    """Take a group's role on a resource back.

    Refused if it removes the last active Owner, and, unless confirmed, if the acting admin
    would lose their own top role on the resource by it (seed 003's safety rails).
    """
    role = catalog.role(ResourceKind(resource.kind).scope, role).name
    owners_before = active_owners(session, catalog, org)
    top = catalog.highest(ResourceKind(resource.kind).scope).name
    acting_was_top = acting_user is not None and _holds(session, acting_user, resource, top)
    removed = session.execute(
        delete(GroupAssignment).where(
            GroupAssignment.group_id == group.id,
            GroupAssignment.resource_id == resource.id,
            GroupAssignment.role == role,
        )
    ).rowcount
    if not removed:
        return False
    recompute(
        session,
        catalog,
        org,
        transitive_members(session, group.id),
        _cause("group_unassigned", actor, resource, role, group),
    )
    _guard_last_owner(session, catalog, org, owners_before)
    if acting_was_top and not confirm and not _holds(session, acting_user, resource, top):
        raise NeedsConfirmation(f"you would lose your own {top} role on this resource: confirm")
    return True


def create_local_user(
    session, catalog, org: Organization, user_name: str, actor: str, display_name=None
) -> User:
    """Create a local user (no IdP manages it); it gets the org's default role at once."""
    user, changes = provisioning.create_local_user(session, org, user_name, display_name)
    apply_directory_events(session, catalog, org, changes, actor)
    return user


def recompute_organization(session, catalog, org: Organization, cause_kind: str, actor: str) -> int:
    """Recompute every user of the org (after a catalog change); return how many rows changed."""
    users = set(session.scalars(select(User.id).where(User.organization_id == org.id)))
    users |= set(
        session.scalars(
            select(EffectiveAccess.user_id).where(EffectiveAccess.organization_id == org.id)
        )
    )
    return recompute(session, catalog, org, users, Cause(cause_kind, actor))


def create_local_group(
    session, org: Organization, name: str, slug: str, description: str | None = None
) -> Group:
    """Create a local group (managed by admins, not by any IdP): name, slug, description."""
    taken = select(Group.id).where(Group.organization_id == org.id, Group.slug == slug)
    if session.scalar(taken) is not None:
        raise Conflict(f"a group with slug {slug!r} exists")
    group = Group(
        organization_id=org.id,
        directory_id=None,
        display_name=name,
        display_name_key=casefold_key(name),
        slug=slug,
        description=description,
        attributes={},
    )
    session.add(group)
    session.flush()
    record_event(session, org.id, "group.created", {"group_id": group.id, "local": True})
    return group


def set_local_members(session, catalog, org: Organization, group: Group, user_ids, actor: str):
    """Make a local group's members exactly these users; IdP-managed groups are read-only."""
    if group.directory_id is not None:
        raise Refused(f"{group.display_name!r} is managed by its IdP: change it there")
    changes = provisioning.set_members(session, group, user_ids)
    apply_directory_events(session, catalog, org, changes, actor)


def add_child_group(session, catalog, org, parent: Group, child: Group, actor: str) -> bool:
    """Put a group inside another (department → team); a cycle is refused."""
    if parent.id in descendant_groups(session, child.id):
        raise Refused(
            f"{child.display_name!r} contains {parent.display_name!r}: that would be a cycle"
        )
    exists = select(GroupChild.group_id).where(
        GroupChild.group_id == parent.id, GroupChild.child_group_id == child.id
    )
    if session.scalar(exists) is not None:
        return False
    session.add(GroupChild(group_id=parent.id, child_group_id=child.id))
    session.flush()
    recompute(
        session,
        catalog,
        org,
        transitive_members(session, child.id),
        Cause("group_nested", actor, (("group_id", parent.id), ("child_group_id", child.id))),
    )
    return True


def set_group_roles_enabled(session, catalog, org: Organization, enabled: bool, actor: str) -> None:
    """Turn group-derived roles on or off for the whole organization (kept either way)."""
    if org.group_roles_enabled == enabled:
        return
    org.group_roles_enabled = enabled
    session.flush()
    users = session.scalars(select(User.id).where(User.organization_id == org.id))
    recompute(
        session,
        catalog,
        org,
        set(users),
        Cause("switch_toggled", actor, (("group_roles_enabled", int(enabled)),)),
    )


def set_default_role(session, catalog, org: Organization, role: str | None, actor: str) -> None:
    """Set the org role every active user holds (None for none); recompute everyone."""
    name = catalog.role(Scope.ORGANIZATION, role).name if role else None
    if name is not None and catalog.role(Scope.ORGANIZATION, name).additive:
        raise InvalidValue("the default role must be a role of the organization ladder")
    if org.default_role == name:
        return
    org.default_role = name
    session.flush()
    recompute_organization(session, catalog, org, "default_role_changed", actor)


def active_owners(session: Session, catalog: Catalog, org: Organization) -> int:
    """Return how many active users hold the top org role (from the materialised state)."""
    return session.scalar(
        select(func.count()).where(
            EffectiveAccess.resource_id == org_resource(session, org).id,
            EffectiveAccess.role == catalog.highest(Scope.ORGANIZATION).name,
        )
    )


def alert_if_ownerless(session, catalog, org: Organization, owners_before: int, actor: str) -> None:
    """After an IdP change (never refused), raise an alert if the last active Owner is gone."""
    if owners_before and not active_owners(session, catalog, org):
        record_event(session, org.id, "org.alert.no_active_owner", {"actor": actor})


def _guard_last_owner(session, catalog, org, owners_before: int) -> None:
    if owners_before and not active_owners(session, catalog, org):
        raise Refused("that would leave the organization without an active Owner")


def _holds(session, user: User, resource: Resource, role: str) -> bool:
    row = session.get(EffectiveAccess, (user.id, resource.id))
    return row is not None and row.role == role


def _holders(session: Session, resource_id: int, roles) -> set[str]:
    return set(
        session.scalars(
            select(EffectiveAccess.user_id).where(
                EffectiveAccess.resource_id == resource_id, EffectiveAccess.role.in_(list(roles))
            )
        )
    )


def _new_resource(
    session, org, kind: ResourceKind, parent: Resource, slug: str, creator
) -> Resource:
    if not SLUG.fullmatch(slug):
        raise InvalidValue(
            f"{slug!r} is not a slug: 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    taken = select(Resource.id).where(
        Resource.organization_id == org.id, Resource.parent_id == parent.id, Resource.slug == slug
    )
    if session.scalar(taken) is not None:
        raise Conflict(f"{slug!r} exists in {parent.slug!r}")
    resource = Resource(
        organization_id=org.id,
        kind=kind.value,
        parent_id=parent.id,
        slug=slug,
        created_by_user_id=creator.id if creator else None,
    )
    session.add(resource)
    session.flush()
    return resource


def _cause(kind, actor, resource: Resource, role: str, group: Group | None = None) -> Cause:
    detail = [("resource_id", resource.id), ("role", role)]
    if group is not None:
        detail.append(("group_id", group.id))
    return Cause(kind, actor, tuple(detail))
