"""/api/v1 routes of users and groups: read every one, write local ones; who has access.

Reads take any key; writes an admin key, and go through `rbac.admin.principals` (which refuses
an IdP-managed group: 409). Everything is scoped to the key's organization, so another
organization's user or group is a 404 exactly as a missing one.
"""

from flask import g
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.api import (
    QUERY,
    READ_ERRORS,
    WRITE_ERRORS,
    acting_context,
    bp,
    documented_body,
    documented_errors,
    load_body,
    read_context,
    writes,
)
from app.api_directory_schemas import (
    AccessQuery,
    GroupDetailOut,
    GroupIn,
    GroupPatchIn,
    GroupQuery,
    GroupsPage,
    MembersIn,
    PageQuery,
    ResourceAccessOut,
    UserAccessOut,
    UserIn,
    UserOut,
    UsersPage,
)
from app.db import get_session
from rbac import lookups
from rbac.admin import principals
from rbac.models import (
    Directory,
    EffectiveAccess,
    Group,
    GroupChild,
    GroupMembership,
    Resource,
    User,
)
from rbac.payloads import directory_group, directory_user
from rbac.resources import address_of, find_resource, resource_path

# Users


@bp.route("/users", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, UsersPage)
@documented_errors({401: "UNAUTHORIZED", 400: "BAD_REQUEST"})
def list_users(query):
    """The organization's users (of one directory if named), by id, a page at a time."""
    users = _page(select(User).options(selectinload(User.emails)), User, query)
    return _paged([_user(user) for user in users], query["limit"])


@bp.route("/users/<user_id>", methods=["GET"])
@bp.response(200, UserOut)
@documented_errors(READ_ERRORS)
def get_user(user_id):
    """A user as WorkOS's directory user object (named by its id or userName)."""
    ctx = read_context()
    return _user(lookups.find_user(ctx.session, ctx.org, user_id))


@bp.route("/users", methods=["POST"])
@writes
@documented_body(UserIn, "the new local user")
@bp.response(201, UserOut)
@documented_errors(WRITE_ERRORS)
def create_local_user():
    """Create a local user (managed by no IdP); it gets the org's default role at once.

    An existing local userName is a 409.
    """
    body = load_body(UserIn)
    user = principals.create_local_user(
        acting_context(), body["user_name"], body.get("display_name")
    )
    return _user(user)


@bp.route("/users/<user_id>/access", methods=["GET"])
@bp.response(200, UserAccessOut)
@documented_errors(READ_ERRORS)
def user_access(user_id):
    """A user's effective access on every resource, with the source that wins each."""
    ctx = read_context()
    user = lookups.find_user(ctx.session, ctx.org, user_id)
    rows = ctx.session.scalars(
        select(EffectiveAccess).where(
            EffectiveAccess.organization_id == ctx.org.id, EffectiveAccess.user_id == user.id
        )
    ).all()
    resources = {
        r.id: r
        for r in ctx.session.scalars(select(Resource).where(Resource.organization_id == ctx.org.id))
    }
    access = [
        {
            "resource": resource_path(resources[row.resource_id], resources),
            "role": row.role,
            "additive": row.additive,
            "source": row.source,
        }
        for row in rows
        if row.resource_id in resources
    ]
    access.sort(key=lambda item: item["resource"])
    return {"user": {"id": user.id, "username": user.user_name}, "access": access}


@bp.route("/access", methods=["GET"])
@bp.arguments(AccessQuery, **QUERY)
@bp.response(200, ResourceAccessOut)
@documented_errors({**READ_ERRORS, 400: "BAD_REQUEST", 422: "UNPROCESSABLE_ENTITY"})
def resource_access(query):
    """Everyone with access to a resource, their role and why: a page of users, by id.

    A malformed address is a 422; an unknown resource (another organization's too) a 404.
    """
    ctx = read_context()
    resource = find_resource(ctx.session, ctx.org, query["resource"])
    statement = (
        select(EffectiveAccess, User)
        .join(User, User.id == EffectiveAccess.user_id)
        .where(
            EffectiveAccess.organization_id == ctx.org.id,
            EffectiveAccess.resource_id == resource.id,
        )
        .order_by(User.id)
        .limit(query["limit"] + 1)
    )
    if "after" in query:
        statement = statement.where(User.id > query["after"])
    holders = [
        {
            "user": {"id": user.id, "username": user.user_name},
            "role": row.role,
            "additive": row.additive,
            "source": row.source,
        }
        for row, user in ctx.session.execute(statement)
    ]
    page = _paged(holders, query["limit"], cursor=lambda holder: holder["user"]["id"])
    return {"resource": address_of(ctx.session, resource), **page}


# Groups


@bp.route("/groups", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, GroupsPage)
@documented_errors({401: "UNAUTHORIZED", 400: "BAD_REQUEST"})
def list_groups(query):
    """The organization's groups (of one directory if named), by id, a page at a time."""
    groups = _page(select(Group), Group, query)
    counts = _member_counts(group.id for group in groups)
    data = [_group(group, counts.get(group.id, 0)) for group in groups]
    return _paged(data, query["limit"])


@bp.route("/groups/<group_id>", methods=["GET"])
@bp.arguments(GroupQuery, **QUERY)
@bp.response(200, GroupDetailOut)
@documented_errors({**READ_ERRORS, 400: "BAD_REQUEST"})
def get_group(query, group_id):
    """A group (by id, name or slug) with its direct members: users and nested groups."""
    ctx = read_context()
    return _group_detail(lookups.find_group(ctx.session, ctx.org, group_id), query["limit"])


@bp.route("/groups", methods=["POST"])
@writes
@documented_body(GroupIn, "the new local group")
@bp.response(201, GroupDetailOut)
@documented_errors(WRITE_ERRORS)
def create_local_group():
    """Create a local group (managed by admins, not by an IdP). A taken slug is a 409."""
    body = load_body(GroupIn)
    group = principals.create_local_group(
        acting_context(), body["name"], body["slug"], body.get("description")
    )
    return _group_detail(group)


@bp.route("/groups/<group_id>", methods=["PATCH"])
@writes
@documented_body(GroupPatchIn, "the new name, description or both")
@bp.response(200, GroupDetailOut)
@documented_errors(WRITE_ERRORS)
def update_local_group(group_id):
    """Rename a local group or change its description. An IdP-managed group is a 409."""
    body = load_body(GroupPatchIn)
    ctx = acting_context()
    group = lookups.find_group(ctx.session, ctx.org, group_id)
    name = body.get("name", group.display_name)
    principals.rename_local_group(ctx, group, name, body.get("description"))
    return _group_detail(group)


@bp.route("/groups/<group_id>", methods=["DELETE"])
@writes
@bp.response(204)
@documented_errors({401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"})
def delete_local_group(group_id):
    """Delete a local group; its members lose what it granted. An IdP-managed group is a 409."""
    ctx = acting_context()
    principals.delete_local_group(ctx, lookups.find_group(ctx.session, ctx.org, group_id))


@bp.route("/groups/<group_id>/members", methods=["POST"])
@writes
@documented_body(MembersIn, "users and groups to add (present ones are a no-op)")
@bp.response(200, GroupDetailOut)
@documented_errors(WRITE_ERRORS)
def add_members(group_id):
    """Add users, and groups to nest, to a local group. A cycle is a 422."""
    return _change_members(group_id, principals.add_members)


@bp.route("/groups/<group_id>/members", methods=["DELETE"])
@writes
@documented_body(MembersIn, "users and groups to remove (absent ones are a no-op)")
@bp.response(200, GroupDetailOut)
@documented_errors(WRITE_ERRORS)
def remove_members(group_id):
    """Remove users, and nested groups, from a local group."""
    return _change_members(group_id, principals.remove_members)


def _change_members(group_id: str, operation) -> dict:
    body = load_body(MembersIn)
    ctx = acting_context()
    group = lookups.find_group(ctx.session, ctx.org, group_id)
    members = [lookups.find_user(ctx.session, ctx.org, ref) for ref in body["users"]]
    members += [lookups.find_group(ctx.session, ctx.org, ref) for ref in body["groups"]]
    operation(ctx, group, members)
    return _group_detail(group)


# Reading


def _page(statement, model, query: dict) -> list:
    """The org's rows of `model` after the cursor, by id, one more than the limit."""
    statement = statement.where(model.organization_id == g.org.id)
    if "directory" in query:
        statement = statement.join(Directory, Directory.id == model.directory_id).where(
            Directory.name == query["directory"]
        )
    if "after" in query:
        statement = statement.where(model.id > query["after"])
    statement = statement.order_by(model.id).limit(query["limit"] + 1)
    return list(get_session().scalars(statement))


def _paged(items: list, limit: int, cursor=lambda item: item["id"]) -> dict:
    page = items[:limit]
    return {
        "data": page,
        "next_cursor": cursor(page[-1]) if page else None,
        "has_more": len(items) > limit,
    }


def _user(user: User) -> dict:
    return directory_user(user) | {"local": user.directory_id is None}


def _group(group: Group, member_count: int) -> dict:
    return directory_group(group) | {"description": group.description, "member_count": member_count}


def _member_counts(group_ids) -> dict[str, int]:
    """Direct members (users and nested groups) of each group, by group id."""
    ids = list(group_ids)
    counts: dict[str, int] = {}
    for model, column in (
        (GroupMembership, GroupMembership.group_id),
        (GroupChild, GroupChild.group_id),
    ):
        rows = get_session().execute(
            select(column, func.count()).select_from(model).where(column.in_(ids)).group_by(column)
        )
        for group_id, count in rows:
            counts[group_id] = counts.get(group_id, 0) + count
    return counts


def _group_detail(group: Group, limit: int = 100) -> dict:
    """A group with up to `limit` of its users and `limit` of its nested groups."""
    session = get_session()
    users = session.execute(
        select(User.id, User.user_name)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group.id)
        .order_by(User.user_name_key, User.id)
        .limit(limit + 1)
    ).all()
    groups = session.execute(
        select(Group.id, Group.display_name)
        .join(GroupChild, GroupChild.child_group_id == Group.id)
        .where(GroupChild.group_id == group.id)
        .order_by(Group.display_name_key, Group.id)
        .limit(limit + 1)
    ).all()
    members = [{"type": "user", "id": i, "name": n} for i, n in users[:limit]]
    members += [{"type": "group", "id": i, "name": n} for i, n in groups[:limit]]
    count = _member_counts([group.id]).get(group.id, 0)
    return _group(group, count) | {
        "members": members,
        "members_truncated": len(users) > limit or len(groups) > limit,
    }
