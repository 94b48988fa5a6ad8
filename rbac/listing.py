"""The organization's objects a page at a time, by id cursor; and who holds what.

A page is read as `limit + 1` rows after a cursor, in cursor order: the first `limit` are the
page, the extra one only says that more follow. Every read is scoped to the organization given,
so another organization's object is never listed. Reads only: no authorization, nothing written.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from rbac.catalog import Catalog
from rbac.db import casefold_key
from rbac.errors import NotFound
from rbac.evaluation import ResourceKind
from rbac.group_graph import ancestor_groups
from rbac.holdings import ASSIGNMENTS, GRANTS, Holding, holding_of
from rbac.models import (
    Directory,
    EffectiveAccess,
    Grant,
    Group,
    GroupAssignment,
    GroupChild,
    GroupMembership,
    Organization,
    Resource,
    User,
    WorkforceAgent,
)
from rbac.resources import resource_path

T = TypeVar("T")
# A direct grant with the user holding it and its resource; a group assignment likewise.
GrantRow = tuple[Grant, User, Resource]
AssignmentRow = tuple[GroupAssignment, Group, Resource]
HeldRow = GrantRow | AssignmentRow


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to a limit of items in cursor order, the last one's cursor, and whether more follow."""

    items: list[T]
    next_cursor: int | str | None  # None when the page is empty
    has_more: bool


def page_of(rows: Sequence[T], limit: int, cursor: Callable[[T], int | str]) -> Page[T]:
    """Return the page of `limit + 1` rows read: the first `limit`; more if the extra one came."""
    items = list(rows[:limit])
    return Page(items, cursor(items[-1]) if items else None, len(rows) > limit)


# Resources


def children_page(
    session: Session,
    org: Organization,
    parent: Resource,
    *,
    after: int = 0,
    limit: int,
    held_by: User | None = None,
) -> Page[Resource]:
    """Return a page of a resource's children (an org's projects, a project's assets), by id.

    With `held_by`, only the children that user holds some access to.
    """
    query = (
        select(Resource)
        .where(
            Resource.organization_id == org.id,
            Resource.parent_id == parent.id,
            Resource.id > after,
        )
        .order_by(Resource.id)
        .limit(limit + 1)
    )
    if held_by is not None:
        query = query.join(
            EffectiveAccess,
            (EffectiveAccess.resource_id == Resource.id) & (EffectiveAccess.user_id == held_by.id),
        )
    return page_of(session.scalars(query).all(), limit, lambda resource: resource.id)


_PROJECT = aliased(Resource, name="project")  # built once: aliases made per call defeat caching


def assets_held_by(
    session: Session, org: Organization, user: User, *, limit: int
) -> list[tuple[Resource, Resource]]:
    """Return the assets a user holds some access to, each with its project, by id."""
    project = _PROJECT
    query = (
        select(Resource, project)
        .join(project, project.id == Resource.parent_id)
        .join(
            EffectiveAccess,
            (EffectiveAccess.resource_id == Resource.id) & (EffectiveAccess.user_id == user.id),
        )
        .where(Resource.organization_id == org.id, project.kind == ResourceKind.PROJECT.value)
        .order_by(Resource.id)
        .limit(limit)
    )
    return [(asset, parent) for asset, parent in session.execute(query)]


def child_by_slug(
    session: Session, org: Organization, parent: Resource, slug: str
) -> Resource | None:
    """Return a resource's child with this slug, if there is one."""
    query = select(Resource).where(
        Resource.organization_id == org.id,
        Resource.parent_id == parent.id,
        Resource.slug == slug,
    )
    return session.scalar(query)


def agents_of(session: Session, org: Organization, workforce: Resource) -> list[Resource]:
    """Return the agents a workforce uses, by slug (none for any other resource)."""
    query = (
        select(Resource)
        .join(WorkforceAgent, WorkforceAgent.agent_id == Resource.id)
        .where(Resource.organization_id == org.id, WorkforceAgent.workforce_id == workforce.id)
        .order_by(Resource.slug)
    )
    return list(session.scalars(query))


# Direct grants and group assignments (`rbac.holdings`: what differs between them)


def held_page(
    session: Session,
    org: Organization,
    holding: Holding,
    *,
    holder: User | Group | None = None,
    resource: Resource | None = None,
    after: int = 0,
    limit: int,
) -> Page[HeldRow]:
    """Return a page of the org's grants or assignments (of one holder, on one resource), by id."""
    model = holding.model
    query = _held(org, holding)
    if holder is not None:
        query = query.where(holding.holder_id == holder.id)
    if resource is not None:
        query = query.where(model.resource_id == resource.id)
    rows = session.execute(query.where(model.id > after).limit(limit + 1)).all()
    return page_of(rows, limit, lambda row: row[0].id)


def held_by_id(session: Session, org: Organization, holding: Holding, held_id: int) -> HeldRow:
    """Return the org's grant or assignment with this id, its holder and resource; else NotFound."""
    row = session.execute(_held(org, holding).where(holding.model.id == held_id)).first()
    if row is None:
        raise NotFound(f"no {holding.name} {held_id} in organization {org.slug!r}")
    return row


def held_of(
    session: Session,
    catalog: Catalog,
    org: Organization,
    holder: User | Group,
    role: str,
    resource: Resource,
) -> HeldRow:
    """Return a user's direct grant or a group's assignment of a role on a resource (it exists)."""
    holding = holding_of(holder)
    model = holding.model
    query = _held(org, holding).where(
        holding.holder_id == holder.id,
        model.resource_id == resource.id,
        model.role == _role_name(catalog, resource, role),
    )
    return session.execute(query).one()


def grants_page(
    session: Session, org: Organization, *, user: User | None = None, **page
) -> Page[GrantRow]:
    """Return a page of the org's direct grants (of one user, on one resource if given), by id."""
    return held_page(session, org, GRANTS, holder=user, **page)


def assignments_page(
    session: Session, org: Organization, *, group: Group | None = None, **page
) -> Page[AssignmentRow]:
    """Return a page of the org's group assignments (of one group, on one resource), by id."""
    return held_page(session, org, ASSIGNMENTS, holder=group, **page)


# A user's direct grant of a role, under the name of its kind.
grant_of = held_of


def _held(org: Organization, holding: Holding) -> Select:
    """Select the org's grants or assignments (scoped through their resource), holder, resource."""
    model, holder = holding.model, holding.holder
    return (
        select(model, holder, Resource)
        .join(Resource, Resource.id == model.resource_id)
        .join(holder, holder.id == holding.holder_id)
        .where(Resource.organization_id == org.id)
        .order_by(model.id)
    )


def _role_name(catalog: Catalog, resource: Resource, role: str) -> str:
    """Return a role's stored name (as the catalog spells it) in the resource's scope."""
    return catalog.role(ResourceKind(resource.kind).scope, role).name


# Users and groups


# The columns a search of users or of groups matches, ignoring case.
_SEARCHED = {
    User: (User.user_name_key, User.display_name_key),
    Group: (Group.display_name_key,),
}


def principals_page(
    session: Session,
    org: Organization,
    model: type[User] | type[Group],
    *,
    directory: str | None = None,
    after: str | None = None,
    limit: int,
    search: str | None = None,
) -> Page:
    """Return a page of the org's users or groups (of one directory, matching a search), by id."""
    query = select(model).options(selectinload(User.emails)) if model is User else select(model)
    if search:
        key = casefold_key(search)
        query = query.where(
            or_(*(name.contains(key, autoescape=True) for name in _SEARCHED[model]))
        )
    query = query.where(model.organization_id == org.id)
    if directory is not None:
        query = query.join(Directory, Directory.id == model.directory_id).where(
            Directory.name == directory
        )
    if after is not None:
        query = query.where(model.id > after)
    rows = session.scalars(query.order_by(model.id).limit(limit + 1)).all()
    return page_of(rows, limit, lambda row: row.id)


def users_page(session: Session, org: Organization, **page) -> Page[User]:
    """Return a page of the org's users (of one directory, matching a search), by id."""
    return principals_page(session, org, User, **page)


def groups_page(session: Session, org: Organization, **page) -> Page[Group]:
    """Return a page of the org's groups (of one directory, matching a search), by id."""
    return principals_page(session, org, Group, **page)


def member_counts(session: Session, org: Organization, group_ids: Iterable[str]) -> dict[str, int]:
    """Return the number of direct members (users and nested groups) of each group, by id."""
    ids = list(group_ids)
    counts = dict.fromkeys(ids, 0)
    for model, column in (
        (GroupMembership, GroupMembership.group_id),
        (GroupChild, GroupChild.group_id),
    ):
        rows = session.execute(
            select(column, func.count())
            .select_from(model)
            .join(Group, Group.id == column)
            .where(Group.organization_id == org.id, column.in_(ids))
            .group_by(column)
        )
        for group_id, count in rows:
            counts[group_id] += count
    return counts


@dataclass(frozen=True)
class Members:
    """A group's direct members as (id, name) pairs: users by userName, nested groups by name."""

    users: list[tuple[str, str]]
    groups: list[tuple[str, str]]
    truncated: bool  # more users, or more nested groups, than the limit


# A group's direct members of each kind: their table, name and sort key; the link naming them.
_MEMBER_KINDS = (
    (User, User.user_name, User.user_name_key, GroupMembership, GroupMembership.user_id),
    (Group, Group.display_name, Group.display_name_key, GroupChild, GroupChild.child_group_id),
)


def direct_members(session: Session, org: Organization, group: Group, limit: int) -> Members:
    """Return up to `limit` of a group's users and `limit` of its nested groups, by name."""
    users, groups = (
        session.execute(
            select(model.id, name)
            .join(link, member == model.id)
            .where(model.organization_id == org.id, link.group_id == group.id)
            .order_by(key, model.id)
            .limit(limit + 1)
        ).all()
        for model, name, key, link, member in _MEMBER_KINDS
    )
    return Members(
        [tuple(row) for row in users[:limit]],
        [tuple(row) for row in groups[:limit]],
        len(users) > limit or len(groups) > limit,
    )


# Who holds what


def access_of(session: Session, org: Organization, user: User) -> list[tuple[str, EffectiveAccess]]:
    """Return a user's effective access on every resource of the org, by the resource's address."""
    rows = session.scalars(
        select(EffectiveAccess).where(
            EffectiveAccess.organization_id == org.id, EffectiveAccess.user_id == user.id
        )
    ).all()
    resources = {
        resource.id: resource
        for resource in session.scalars(select(Resource).where(Resource.organization_id == org.id))
    }
    access = [
        (resource_path(resources[row.resource_id], resources), row)
        for row in rows
        if row.resource_id in resources
    ]
    return sorted(access, key=lambda pair: pair[0])


def holders_of(
    session: Session,
    org: Organization,
    resource: Resource,
    *,
    after: str | None = None,
    limit: int,
) -> Page[tuple[EffectiveAccess, User]]:
    """Return a page of the users with access to a resource and their access, by user id."""
    query = (
        select(EffectiveAccess, User)
        .join(User, User.id == EffectiveAccess.user_id)
        .where(
            EffectiveAccess.organization_id == org.id,
            EffectiveAccess.resource_id == resource.id,
        )
    )
    if after is not None:
        query = query.where(User.id > after)
    rows = session.execute(query.order_by(User.id).limit(limit + 1)).all()
    return page_of(rows, limit, lambda row: row[1].id)


def people_with_access(session: Session, org: Organization, resource: Resource) -> int:
    """Return how many users hold access to a resource or (a project) to any of its assets."""
    assets = select(Resource.id).where(Resource.parent_id == resource.id)
    query = select(func.count(func.distinct(EffectiveAccess.user_id))).where(
        EffectiveAccess.organization_id == org.id,
        (EffectiveAccess.resource_id == resource.id) | EffectiveAccess.resource_id.in_(assets),
    )
    return session.scalar(query)


def groups_of(session: Session, org: Organization, user: User) -> tuple[list[Group], list[Group]]:
    """Return the groups a user is a member of: directly, and through nesting (by name)."""
    direct_ids = set(
        session.scalars(select(GroupMembership.group_id).where(GroupMembership.user_id == user.id))
    )
    every_id = ancestor_groups(session, direct_ids) if direct_ids else set()
    groups = session.scalars(
        select(Group)
        .where(Group.organization_id == org.id, Group.id.in_(every_id))
        .order_by(Group.display_name_key)
    ).all()
    return [g for g in groups if g.id in direct_ids], [g for g in groups if g.id not in direct_ids]
