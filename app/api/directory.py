"""/api/v1 routes of users and groups: read every one, write local ones; who has access.

Reads take any key; writes an admin key, and go through `rbac.admin.principals` (which refuses
an IdP-managed group: 409). Everything is scoped to the key's organization, so another
organization's user or group is a 404 exactly as a missing one.
"""

from app.api.boundary import (
    DELETE_ERRORS,
    LIST_ERRORS,
    QUERIED_ERRORS,
    acting_context,
    page_body,
    read_context,
    read_page,
    read_route,
    takes_body,
    write_route,
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


@read_route("/users", UsersPage, query=PageQuery, errors=LIST_ERRORS)
def list_users(query):
    """The organization's users (of one directory if named), by id, a page at a time."""
    ctx = read_context()
    return page_body(_principals(ctx, query, User), _user, query)


@read_route("/users/<user_id>", UserOut)
def get_user(user_id):
    """A user as WorkOS's directory user object (named by its id or userName)."""
    ctx = read_context()
    return _user(lookups.find_user(ctx.session, ctx.org, user_id))


@write_route("/users", "POST", 201, UserOut)
@takes_body(UserIn, "the new local user")
def create_local_user(body):
    """Create a local user (managed by no IdP); it gets the org's default role at once.

    An existing local userName is a 409.
    """
    user = principals.create_local_user(
        acting_context(), body["user_name"], body.get("display_name")
    )
    return _user(user)


@read_route("/users/<user_id>/access", UserAccessOut)
def user_access(user_id):
    """A user's effective access on every resource, with the source that wins each."""
    ctx = read_context()
    user = lookups.find_user(ctx.session, ctx.org, user_id)
    access = listing.access_of(ctx.session, ctx.org, user)
    return {
        "user": _user_ref(user),
        "access": [{"resource": address} | _access(row) for address, row in access],
    }


@read_route(
    "/access",
    ResourceAccessOut,
    query=AccessQuery,
    errors={**QUERIED_ERRORS, 422: "UNPROCESSABLE_ENTITY"},
)
def resource_access(query):
    """Everyone with access to a resource, their role and why: a page of users, by id.

    A malformed address is a 422; an unknown resource (another organization's too) a 404.
    """
    ctx = read_context()
    resource = find_resource(ctx.session, ctx.org, query["resource"])
    page = read_page(query, listing.holders_of, ctx.session, ctx.org, resource)
    return {"resource": address_of(ctx.session, resource), **page_body(page, _holder, query)}


# Groups


@read_route("/groups", GroupsPage, query=PageQuery, errors=LIST_ERRORS)
def list_groups(query):
    """The organization's groups (of one directory if named), by id, a page at a time."""
    ctx = read_context()
    page = _principals(ctx, query, Group)
    counts = listing.member_counts(ctx.session, ctx.org, [group.id for group in page.items])
    return page_body(page, lambda group: _group(group, counts[group.id]), query)


@read_route("/groups/<group_id>", GroupDetailOut, query=GroupQuery, errors=QUERIED_ERRORS)
def get_group(query, group_id):
    """A group (by id, name or slug) with its direct members: users and nested groups."""
    ctx = read_context()
    return _group_detail(ctx, lookups.find_group(ctx.session, ctx.org, group_id), query["limit"])


@write_route("/groups", "POST", 201, GroupDetailOut)
@takes_body(GroupIn, "the new local group")
def create_local_group(body):
    """Create a local group (managed by admins, not by an IdP). A taken slug is a 409."""
    ctx = acting_context()
    group = principals.create_local_group(ctx, body["name"], body["slug"], body.get("description"))
    return _group_detail(ctx, group)


@write_route("/groups/<group_id>", "PATCH", 200, GroupDetailOut)
@takes_body(GroupPatchIn, "the new name, description or both")
def update_local_group(body, group_id):
    """Rename a local group or change its description. An IdP-managed group is a 409."""
    ctx = acting_context()
    group = lookups.find_group(ctx.session, ctx.org, group_id)
    name = body.get("name", group.display_name)
    principals.rename_local_group(ctx, group, name, body.get("description"))
    return _group_detail(ctx, group)


@write_route("/groups/<group_id>", "DELETE", 204, errors={**DELETE_ERRORS, 409: "CONFLICT"})
def delete_local_group(group_id):
    """Delete a local group; its members lose what it granted. An IdP-managed group is a 409."""
    ctx = acting_context()
    principals.delete_local_group(ctx, lookups.find_group(ctx.session, ctx.org, group_id))


def _members_route(method: str, described: str):
    """Register a change of a local group's members: the body names them; answers the group."""
    route = write_route("/groups/<group_id>/members", method, 200, GroupDetailOut)
    return lambda view: route(takes_body(MembersIn, described)(view))


@_members_route("POST", "users and groups to add (present ones are a no-op)")
def add_members(body, group_id):
    """Add users, and groups to nest, to a local group. A cycle is a 422."""
    return _change_members(body, group_id, principals.add_members)


@_members_route("DELETE", "users and groups to remove (absent ones are a no-op)")
def remove_members(body, group_id):
    """Remove users, and nested groups, from a local group."""
    return _change_members(body, group_id, principals.remove_members)


def _principals(ctx: Context, query: dict, model: type[User] | type[Group]) -> listing.Page:
    """The page of users or groups a list's query asks for: of one directory, if it names one."""
    directory = query.get("directory")
    return read_page(
        query, listing.principals_page, ctx.session, ctx.org, model, directory=directory
    )


def _change_members(body: dict, group_id: str, operation) -> dict:
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
