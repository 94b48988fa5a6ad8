"""/api/v1 routes of users and groups: read every one, write local ones; who has access.

Reads take any key; writes an admin key, and go through `rbac.admin.principals` (which refuses
an IdP-managed group: 409). Everything is scoped to the key's organization, so another
organization's user or group is a 404 exactly as a missing one.
"""

from app.api.boundary import (
    QUERY,
    READ_ERRORS,
    WRITE_ERRORS,
    acting_context,
    bp,
    documented_body,
    documented_errors,
    load_body,
    page_body,
    read_context,
    writes,
)
from app.api.schemas.directory import (
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
from rbac import listing, lookups
from rbac.admin import principals
from rbac.context import Context
from rbac.models import EffectiveAccess, Group, User
from rbac.payloads import directory_group, directory_user
from rbac.resources import address_of, find_resource

# Users


@bp.route("/users", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, UsersPage)
@documented_errors({401: "UNAUTHORIZED", 400: "BAD_REQUEST"})
def list_users(query):
    """The organization's users (of one directory if named), by id, a page at a time."""
    ctx = read_context()
    page = listing.users_page(
        ctx.session,
        ctx.org,
        directory=query.get("directory"),
        after=query.get("after"),
        limit=query["limit"],
    )
    return page_body(page, _user, query.get("after"))


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
    access = listing.access_of(ctx.session, ctx.org, user)
    return {
        "user": _user_ref(user),
        "access": [{"resource": address} | _access(row) for address, row in access],
    }


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
    page = listing.holders_of(
        ctx.session, ctx.org, resource, after=query.get("after"), limit=query["limit"]
    )
    return {
        "resource": address_of(ctx.session, resource),
        **page_body(page, _holder, query.get("after")),
    }


# Groups


@bp.route("/groups", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, GroupsPage)
@documented_errors({401: "UNAUTHORIZED", 400: "BAD_REQUEST"})
def list_groups(query):
    """The organization's groups (of one directory if named), by id, a page at a time."""
    ctx = read_context()
    page = listing.groups_page(
        ctx.session,
        ctx.org,
        directory=query.get("directory"),
        after=query.get("after"),
        limit=query["limit"],
    )
    counts = listing.member_counts(ctx.session, ctx.org, [group.id for group in page.items])
    return page_body(page, lambda group: _group(group, counts[group.id]), query.get("after"))


@bp.route("/groups/<group_id>", methods=["GET"])
@bp.arguments(GroupQuery, **QUERY)
@bp.response(200, GroupDetailOut)
@documented_errors({**READ_ERRORS, 400: "BAD_REQUEST"})
def get_group(query, group_id):
    """A group (by id, name or slug) with its direct members: users and nested groups."""
    ctx = read_context()
    return _group_detail(ctx, lookups.find_group(ctx.session, ctx.org, group_id), query["limit"])


@bp.route("/groups", methods=["POST"])
@writes
@documented_body(GroupIn, "the new local group")
@bp.response(201, GroupDetailOut)
@documented_errors(WRITE_ERRORS)
def create_local_group():
    """Create a local group (managed by admins, not by an IdP). A taken slug is a 409."""
    body = load_body(GroupIn)
    ctx = acting_context()
    group = principals.create_local_group(ctx, body["name"], body["slug"], body.get("description"))
    return _group_detail(ctx, group)


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
    return _group_detail(ctx, group)


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
    return _group_detail(ctx, group)


# Dumps


def _user(user: User) -> dict:
    return directory_user(user) | {"local": user.directory_id is None}


def _user_ref(user: User) -> dict:
    return {"id": user.id, "username": user.user_name}


def _access(row: EffectiveAccess) -> dict:
    return {"role": row.role, "additive": row.additive, "source": row.source}


def _holder(row: tuple[EffectiveAccess, User]) -> dict:
    access, user = row
    return {"user": _user_ref(user)} | _access(access)


def _group(group: Group, member_count: int) -> dict:
    return directory_group(group) | {"description": group.description, "member_count": member_count}


def _group_detail(ctx: Context, group: Group, limit: int = 100) -> dict:
    """A group with up to `limit` of its users and `limit` of its nested groups."""
    members = listing.direct_members(ctx.session, ctx.org, group, limit)
    count = listing.member_counts(ctx.session, ctx.org, [group.id])[group.id]
    return _group(group, count) | {
        "members": [{"type": "user", "id": i, "name": n} for i, n in members.users]
        + [{"type": "group", "id": i, "name": n} for i, n in members.groups],
        "members_truncated": members.truncated,
    }
