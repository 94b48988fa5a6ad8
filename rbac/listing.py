"""The organization's objects a page at a time, by id cursor; and who holds what.

A page is read as `limit + 1` rows after a cursor, in cursor order: the first `limit` are the
page, the extra one only says that more follow. Every read is scoped to the organization given,
so another organization's object is never listed. Reads only: no authorization, nothing written.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from rbac.catalog import Catalog
from rbac.db import casefold_key
from rbac.errors import NotFound
from rbac.evaluation import ResourceKind
from rbac.group_graph import ancestor_groups
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


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to a limit of items in cursor order, the last one's cursor, and whether more follow."""

    items: list[T]
    next_cursor: int | str | None  # None when the page is empty
    has_more: bool


def _page(rows: Sequence[T], limit: int, cursor: Callable[[T], int | str]) -> Page[T]:
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
    return _page(session.scalars(query).all(), limit, lambda resource: resource.id)


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


# Direct grants and group assignments


def grants_page(
    session: Session,
    org: Organization,
    *,
    user: User | None = None,
    resource: Resource | None = None,
    after: int = 0,
    limit: int,
) -> Page[GrantRow]:
    """Return a page of the org's direct grants (of one user, on one resource if given), by id."""
    query = _grants(org)
    if user is not None:
        query = query.where(Grant.user_id == user.id)
    return _held_page(session, query, Grant, resource, after, limit)


def grant_by_id(session: Session, org: Organization, grant_id: int) -> GrantRow:
    """Return the org's direct grant with this id, its user and resource; else raise NotFound."""
    return _by_id(session, org, _grants(org).where(Grant.id == grant_id), f"grant {grant_id}")


def grant_of(
    session: Session, catalog: Catalog, org: Organization, user: User, role: str, resource: Resource
) -> GrantRow:
    """Return the direct grant of a role to a user on a resource, which must exist."""
    query = _grants(org).where(
        Grant.user_id == user.id,
        Grant.resource_id == resource.id,
        Grant.role == _role_name(catalog, resource, role),
    )
    return session.execute(query).one()


def assignments_page(
    session: Session,
    org: Organization,
    *,
    group: Group | None = None,
    resource: Resource | None = None,
    after: int = 0,
    limit: int,
) -> Page[AssignmentRow]:
    """Return a page of the org's group assignments (of one group, on one resource), by id."""
    query = _assignments(org)
    if group is not None:
        query = query.where(GroupAssignment.group_id == group.id)
    return _held_page(session, query, GroupAssignment, resource, after, limit)


def assignment_by_id(session: Session, org: Organization, assignment_id: int) -> AssignmentRow:
    """Return the org's group assignment with this id, its group and resource; else NotFound."""
    query = _assignments(org).where(GroupAssignment.id == assignment_id)
    return _by_id(session, org, query, f"assignment {assignment_id}")


def assignment_of(
    session: Session,
    catalog: Catalog,
    org: Organization,
    group: Group,
    role: str,
    resource: Resource,
) -> AssignmentRow:
    """Return the assignment of a role to a group on a resource, which must exist."""
    query = _assignments(org).where(
        GroupAssignment.group_id == group.id,
        GroupAssignment.resource_id == resource.id,
        GroupAssignment.role == _role_name(catalog, resource, role),
    )
    return session.execute(query).one()


def _grants(org: Organization) -> Select:
    """Select the org's direct grants (scoped through their resource) with user and resource."""
    return (
        select(Grant, User, Resource)
        .join(Resource, Resource.id == Grant.resource_id)
        .join(User, User.id == Grant.user_id)
        .where(Resource.organization_id == org.id)
        .order_by(Grant.id)
    )


def _assignments(org: Organization) -> Select:
    """Select the org's group assignments (scoped through their resource) with group, resource."""
    return (
        select(GroupAssignment, Group, Resource)
        .join(Resource, Resource.id == GroupAssignment.resource_id)
        .join(Group, Group.id == GroupAssignment.group_id)
        .where(Resource.organization_id == org.id)
        .order_by(GroupAssignment.id)
    )


def _held_page(session: Session, query: Select, model, resource, after: int, limit: int) -> Page:
    """Run a grants or assignments query for a page after a cursor, on one resource if given."""
    if resource is not None:
        query = query.where(model.resource_id == resource.id)
    rows = session.execute(query.where(model.id > after).limit(limit + 1)).all()
    return _page(rows, limit, lambda row: row[0].id)


def _by_id(session: Session, org: Organization, query: Select, what: str):
    """Return the one row a by-id query finds; else raise NotFound naming it."""
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"no {what} in organization {org.slug!r}")
    return row


def _role_name(catalog: Catalog, resource: Resource, role: str) -> str:
    """Return a role's stored name (as the catalog spells it) in the resource's scope."""
    return catalog.role(ResourceKind(resource.kind).scope, role).name


# Users and groups


def users_page(
    session: Session,
    org: Organization,
    *,
    directory: str | None = None,
    after: str | None = None,
    limit: int,
    search: str | None = None,
) -> Page[User]:
    """Return a page of the org's users (of one directory, matching a search), by id."""
    query = select(User).options(selectinload(User.emails))
    if search:
        key = casefold_key(search)
        query = query.where(
            User.user_name_key.contains(key, autoescape=True)
            | User.display_name_key.contains(key, autoescape=True)
        )
    return _principals_page(session, org, query, User, directory, after, limit)


def groups_page(
    session: Session,
    org: Organization,
    *,
    directory: str | None = None,
    after: str | None = None,
    limit: int,
    search: str | None = None,
) -> Page[Group]:
    """Return a page of the org's groups (of one directory, matching a search), by id."""
    query = select(Group)
    if search:
        query = query.where(Group.display_name_key.contains(casefold_key(search), autoescape=True))
    return _principals_page(session, org, query, Group, directory, after, limit)


def _principals_page(
    session: Session,
    org: Organization,
    query: Select,
    model: type[User] | type[Group],
    directory: str | None,
    after: str | None,
    limit: int,
) -> Page:
    """Run a users or groups query for a page of the org's, of a directory if named, by id."""
    query = query.where(model.organization_id == org.id)
    if directory is not None:
        query = query.join(Directory, Directory.id == model.directory_id).where(
            Directory.name == directory
        )
    if after is not None:
        query = query.where(model.id > after)
    rows = session.scalars(query.order_by(model.id).limit(limit + 1)).all()
    return _page(rows, limit, lambda row: row.id)


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


def direct_members(session: Session, org: Organization, group: Group, limit: int) -> Members:
    """Return up to `limit` of a group's users and `limit` of its nested groups, by name."""
    users = session.execute(
        select(User.id, User.user_name)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(User.organization_id == org.id, GroupMembership.group_id == group.id)
        .order_by(User.user_name_key, User.id)
        .limit(limit + 1)
    ).all()
    groups = session.execute(
        select(Group.id, Group.display_name)
        .join(GroupChild, GroupChild.child_group_id == Group.id)
        .where(Group.organization_id == org.id, GroupChild.group_id == group.id)
        .order_by(Group.display_name_key, Group.id)
        .limit(limit + 1)
    ).all()
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
    return _page(rows, limit, lambda row: row[1].id)


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
