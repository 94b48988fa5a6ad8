"""/api/v1 routes of the RBAC model: projects, assets, direct grants, group assignments.

Reads take any key; writes an admin key, and go through `rbac.admin.resources` and
`rbac.admin.grants` (so through `apply_changes`, the key named as actor `apikey:N` in events).
Creates are idempotent: an identical existing object is a 200 with it, a different one a 409.
Everything is looked up in the key's organization, so another organization's object is a 404
exactly as a missing one.
"""

from sqlalchemy import select

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
from app.api_model_schemas import (
    AssetIn,
    AssetOut,
    AssetsPage,
    AssignmentIn,
    AssignmentOut,
    AssignmentsPage,
    AssignmentsQuery,
    AssignmentTriple,
    GrantIn,
    GrantOut,
    GrantsPage,
    GrantsQuery,
    GrantTriple,
    PageQuery,
    ProjectIn,
    ProjectOut,
    ProjectsPage,
)
from rbac.admin import grants
from rbac.admin.resources import create_asset, create_project
from rbac.context import Context
from rbac.errors import NotFound
from rbac.evaluation import ResourceKind
from rbac.lookups import find_group, find_user
from rbac.models import Grant, Group, GroupAssignment, Resource, User, WorkforceAgent
from rbac.resources import find_resource, org_resource, resource_path

# Grant and assignment ids are 32-bit integers: a larger id is a 404, not a database error.
_MAX_ID = 2**31 - 1
_LIST = {401: "UNAUTHORIZED", 400: "BAD_REQUEST"}


def _existed(schema, description: str):
    """Document the 200 of an idempotent create: the identical object that already existed."""
    return bp.alt_response(200, schema=schema, description=description)


def _page(rows: list, limit: int, after: int, dump) -> dict:
    """A page of `limit + 1` rows read: the first `limit`, dumped, and the cursor."""
    page = rows[:limit]
    return {
        "data": [dump(row) for row in page],
        "next_cursor": page[-1].id if page else after,
        "has_more": len(rows) > limit,
    }


# Projects


@bp.route("/projects", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, ProjectsPage)
@documented_errors(_LIST)
def list_projects(query):
    """The organization's projects, by id, a page at a time."""
    ctx = read_context()
    org = org_resource(ctx.session, ctx.org)
    rows = _children(ctx, org.id, query["after"], query["limit"] + 1)
    return _page(rows, query["limit"], query["after"], _project)


@bp.route("/projects", methods=["POST"])
@writes
@documented_body(ProjectIn, "the new project")
@bp.response(201, ProjectOut)
@_existed(ProjectOut, "the project existed: it is returned")
@documented_errors(WRITE_ERRORS)
def post_project():
    """Create a project (org owners and admins become its admins by cascade)."""
    body = load_body(ProjectIn)
    ctx = acting_context()
    existing = _child(ctx, org_resource(ctx.session, ctx.org).id, body["slug"])
    if existing is not None:
        return _project(existing), 200
    project = create_project(ctx, body["slug"])
    return _project(project)


@bp.route("/projects/<project>", methods=["GET"])
@bp.response(200, ProjectOut)
@documented_errors(READ_ERRORS)
def get_project(project):
    """A project, named by its slug."""
    ctx = read_context()
    return _project(find_resource(ctx.session, ctx.org, f"project:{project}"))


# Assets


@bp.route("/projects/<project>/assets", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, AssetsPage)
@documented_errors({**_LIST, 404: "NOT_FOUND"})
def list_assets(query, project):
    """A project's assets, by id, a page at a time."""
    ctx = read_context()
    parent = find_resource(ctx.session, ctx.org, f"project:{project}")
    rows = _children(ctx, parent.id, query["after"], query["limit"] + 1)
    return _page(rows, query["limit"], query["after"], lambda asset: _asset(ctx, asset, parent))


@bp.route("/projects/<project>/assets", methods=["POST"])
@writes
@documented_body(AssetIn, "the new asset")
@bp.response(201, AssetOut)
@_existed(AssetOut, "an identical asset existed: it is returned (a different one is a 409)")
@documented_errors(WRITE_ERRORS)
def post_asset(project):
    """Create an asset; its creator, if named, gets its admin role as a direct grant."""
    body = load_body(AssetIn)
    ctx = acting_context()
    parent = find_resource(ctx.session, ctx.org, f"project:{project}")
    creator = find_user(ctx.session, ctx.org, body["creator"]) if "creator" in body else None
    uses = [
        find_resource(ctx.session, ctx.org, f"asset:{project}/{slug}")
        for slug in body.get("uses", [])
    ]
    existing = _child(ctx, parent.id, body["slug"])
    if existing is not None and _same_asset(ctx, existing, body["kind"], creator, uses):
        return _asset(ctx, existing, parent), 200
    asset = create_asset(
        ctx, parent, ResourceKind(body["kind"]), body["slug"], creator=creator, uses=uses
    )
    return _asset(ctx, asset, parent)


@bp.route("/projects/<project>/assets/<asset>", methods=["GET"])
@bp.response(200, AssetOut)
@documented_errors(READ_ERRORS)
def get_asset(project, asset):
    """An asset: its kind, its creator's id, and the agents a workforce uses."""
    ctx = read_context()
    found = find_resource(ctx.session, ctx.org, f"asset:{project}/{asset}")
    return _asset(ctx, found, ctx.session.get(Resource, found.parent_id))


# Direct grants


@bp.route("/grants", methods=["GET"])
@bp.arguments(GrantsQuery, **QUERY)
@bp.response(200, GrantsPage)
@documented_errors({**_LIST, 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"})
def list_grants(query):
    """The organization's direct grants, by id, optionally of one user or on one resource."""
    ctx = read_context()
    where = [Grant.id > query["after"]]
    if "user" in query:
        where.append(Grant.user_id == find_user(ctx.session, ctx.org, query["user"]).id)
    if "resource" in query:
        resource = find_resource(ctx.session, ctx.org, query["resource"])
        where.append(Grant.resource_id == resource.id)
    rows = _role_rows(ctx, Grant, User, where, query["limit"] + 1)
    return _page(rows, query["limit"], query["after"], lambda row: _grant(ctx, row))


@bp.route("/grants", methods=["POST"])
@writes
@documented_body(GrantIn, "the grant to give")
@bp.response(201, GrantOut)
@_existed(GrantOut, "the identical grant existed: it is returned")
@documented_errors(WRITE_ERRORS)
def post_grant():
    """Give a user a role directly on a resource (idempotent: an existing grant is a 200)."""
    body = load_body(GrantIn)
    ctx = acting_context()
    user = find_user(ctx.session, ctx.org, body["user"])
    resource = find_resource(ctx.session, ctx.org, body["resource"])
    created = grants.grant_role(ctx, user, body["role"], resource)
    row = _one_row(ctx, Grant, Grant.user_id == user.id, resource, body["role"])
    return _grant(ctx, row), 201 if created else 200


@bp.route(f"/grants/<int(max={_MAX_ID}):grant_id>", methods=["GET"])
@bp.response(200, GrantOut)
@documented_errors(READ_ERRORS)
def get_grant(grant_id):
    """A direct grant, by its id."""
    ctx = read_context()
    return _grant(ctx, _by_id(ctx, Grant, User, grant_id, "grant"))


@bp.route("/grants", methods=["DELETE"])
@writes
@bp.arguments(GrantTriple, **QUERY)
@bp.response(204)
@documented_errors(WRITE_ERRORS)
def delete_grant(query):
    """Take back a direct grant named by user, role and resource (409 if a rail refuses)."""
    ctx = acting_context()
    user = find_user(ctx.session, ctx.org, query["user"])
    resource = find_resource(ctx.session, ctx.org, query["resource"])
    _revoke(ctx, user, query["role"], resource)


@bp.route(f"/grants/<int(max={_MAX_ID}):grant_id>", methods=["DELETE"])
@writes
@bp.response(204)
@documented_errors(WRITE_ERRORS)
def delete_grant_by_id(grant_id):
    """Take back a direct grant, by its id (409 if a safety rail refuses, naming it)."""
    ctx = acting_context()
    row, user, resource = _by_id(ctx, Grant, User, grant_id, "grant")
    _revoke(ctx, user, row.role, resource)


def _revoke(ctx: Context, user: User, role: str, resource: Resource) -> None:
    """Revoke through the domain; no such grant is a 404."""
    if not grants.revoke_role(ctx, user, role, resource):
        raise NotFound(f"no grant of {role!r} to {user.user_name!r} on {_address(ctx, resource)}")


# Group assignments


@bp.route("/assignments", methods=["GET"])
@bp.arguments(AssignmentsQuery, **QUERY)
@bp.response(200, AssignmentsPage)
@documented_errors({**_LIST, 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"})
def list_assignments(query):
    """The organization's group assignments, by id, optionally of one group or resource."""
    ctx = read_context()
    where = [GroupAssignment.id > query["after"]]
    if "group" in query:
        group = find_group(ctx.session, ctx.org, query["group"])
        where.append(GroupAssignment.group_id == group.id)
    if "resource" in query:
        resource = find_resource(ctx.session, ctx.org, query["resource"])
        where.append(GroupAssignment.resource_id == resource.id)
    rows = _role_rows(ctx, GroupAssignment, Group, where, query["limit"] + 1)
    return _page(rows, query["limit"], query["after"], lambda row: _assignment(ctx, row))


@bp.route("/assignments", methods=["POST"])
@writes
@documented_body(AssignmentIn, "the assignment to make")
@bp.response(201, AssignmentOut)
@_existed(AssignmentOut, "the identical assignment existed: it is returned")
@documented_errors(WRITE_ERRORS)
def post_assignment():
    """Let a group hold a role on a resource (idempotent: an existing one is a 200)."""
    body = load_body(AssignmentIn)
    ctx = acting_context()
    group = find_group(ctx.session, ctx.org, body["group"])
    resource = find_resource(ctx.session, ctx.org, body["resource"])
    created = grants.assign_group(ctx, group, body["role"], resource)
    holder = GroupAssignment.group_id == group.id
    row = _one_row(ctx, GroupAssignment, holder, resource, body["role"])
    return _assignment(ctx, row), 201 if created else 200


@bp.route(f"/assignments/<int(max={_MAX_ID}):assignment_id>", methods=["GET"])
@bp.response(200, AssignmentOut)
@documented_errors(READ_ERRORS)
def get_assignment(assignment_id):
    """A group assignment, by its id."""
    ctx = read_context()
    return _assignment(ctx, _by_id(ctx, GroupAssignment, Group, assignment_id, "assignment"))


@bp.route("/assignments", methods=["DELETE"])
@writes
@bp.arguments(AssignmentTriple, **QUERY)
@bp.response(204)
@documented_errors(WRITE_ERRORS)
def delete_assignment(query):
    """Take a group's role on a resource back, named by group, role and resource."""
    ctx = acting_context()
    group = find_group(ctx.session, ctx.org, query["group"])
    resource = find_resource(ctx.session, ctx.org, query["resource"])
    _unassign(ctx, group, query["role"], resource)


@bp.route(f"/assignments/<int(max={_MAX_ID}):assignment_id>", methods=["DELETE"])
@writes
@bp.response(204)
@documented_errors(WRITE_ERRORS)
def delete_assignment_by_id(assignment_id):
    """Take a group's role on a resource back, by the assignment's id."""
    ctx = acting_context()
    row, group, resource = _by_id(ctx, GroupAssignment, Group, assignment_id, "assignment")
    _unassign(ctx, group, row.role, resource)


def _unassign(ctx: Context, group: Group, role: str, resource: Resource) -> None:
    """Unassign through the domain; no such assignment is a 404."""
    if not grants.unassign_group(ctx, group, role, resource):
        message = f"no assignment of {role!r} to group {group.display_name!r}"
        raise NotFound(f"{message} on {_address(ctx, resource)}")


# Reads of the base tables (to move to rbac/: see the module's report).


def _children(ctx: Context, parent_id: int, after: int, limit: int) -> list[Resource]:
    """A resource's children in the organization, by id, after a cursor."""
    query = (
        select(Resource)
        .where(
            Resource.organization_id == ctx.org.id,
            Resource.parent_id == parent_id,
            Resource.id > after,
        )
        .order_by(Resource.id)
        .limit(limit)
    )
    return list(ctx.session.scalars(query))


def _child(ctx: Context, parent_id: int, slug: str) -> Resource | None:
    """A resource's child of this slug in the organization, if any."""
    query = select(Resource).where(
        Resource.organization_id == ctx.org.id,
        Resource.parent_id == parent_id,
        Resource.slug == slug,
    )
    return ctx.session.scalar(query)


def _same_asset(ctx: Context, asset: Resource, kind: str, creator, uses) -> bool:
    """Whether an existing asset is the one this create asks for (kind, creator, agents)."""
    return (
        asset.kind == kind
        and asset.created_by_user_id == (creator.id if creator else None)
        and set(_agent_ids(ctx, asset)) == {agent.id for agent in uses}
    )


def _agent_ids(ctx: Context, asset: Resource) -> list[int]:
    """The ids of the agents a workforce uses."""
    query = select(WorkforceAgent.agent_id).where(WorkforceAgent.workforce_id == asset.id)
    return list(ctx.session.scalars(query))


def _role_rows(ctx: Context, model, holder_model, where: list, limit: int) -> list:
    """Grants or assignments of the org (scoped through their resource), with holder, by id."""
    holder_id = model.user_id if model is Grant else model.group_id
    query = (
        select(model, holder_model, Resource)
        .join(Resource, Resource.id == model.resource_id)
        .join(holder_model, holder_model.id == holder_id)
        .where(Resource.organization_id == ctx.org.id, *where)
        .order_by(model.id)
        .limit(limit)
    )
    return [_Row(*row) for row in ctx.session.execute(query)]


def _by_id(ctx: Context, model, holder_model, row_id: int, what: str):
    """One grant or assignment of the org, with holder and resource; else NotFound."""
    rows = _role_rows(ctx, model, holder_model, [model.id == row_id], 1)
    if not rows:
        raise NotFound(f"no {what} {row_id} in organization {ctx.org.slug!r}")
    return rows[0]


def _one_row(ctx: Context, model, holder, resource: Resource, role: str):
    """The grant or assignment just given (or found), with holder and resource."""
    name = ctx.catalog.role(ResourceKind(resource.kind).scope, role).name
    holder_model = User if model is Grant else Group
    where = [holder, model.resource_id == resource.id, model.role == name]
    return _role_rows(ctx, model, holder_model, where, 1)[0]


class _Row(tuple):
    """A grant or assignment, its holder (user or group) and its resource."""

    __slots__ = ()

    def __new__(cls, row, holder, resource):
        """Bundle the three."""
        return super().__new__(cls, (row, holder, resource))

    @property
    def id(self) -> int:
        """The grant's or assignment's id (the cursor)."""
        return self[0].id


# Dumps


def _address(ctx: Context, resource: Resource) -> str:
    """A resource's address (org, project:P, asset:P/A)."""
    parents = {}
    if resource.kind not in (ResourceKind.ORGANIZATION.value, ResourceKind.PROJECT.value):
        parents[resource.parent_id] = ctx.session.get(Resource, resource.parent_id)
    return resource_path(resource, parents)


def _project(project: Resource) -> dict:
    """A project as ProjectOut."""
    return {
        "id": project.id,
        "slug": project.slug,
        "resource": f"project:{project.slug}",
        "created_at": project.created_at,
    }


def _asset(ctx: Context, asset: Resource, project: Resource) -> dict:
    """An asset as AssetOut."""
    query = (
        select(Resource.slug)
        .join(WorkforceAgent, WorkforceAgent.agent_id == Resource.id)
        .where(WorkforceAgent.workforce_id == asset.id)
        .order_by(Resource.slug)
    )
    return {
        "id": asset.id,
        "slug": asset.slug,
        "project": project.slug,
        "kind": asset.kind,
        "resource": f"asset:{project.slug}/{asset.slug}",
        "creator": asset.created_by_user_id,
        "uses": list(ctx.session.scalars(query)),
        "created_at": asset.created_at,
    }


def _grant(ctx: Context, row) -> dict:
    """A grant, its user and resource, as GrantOut."""
    grant, user, resource = row
    return {
        "id": grant.id,
        "user": user.id,
        "user_name": user.user_name,
        "role": grant.role,
        "resource": _address(ctx, resource),
        "granted_by": grant.granted_by,
        "created_at": grant.created_at,
    }


def _assignment(ctx: Context, row) -> dict:
    """An assignment, its group and resource, as AssignmentOut."""
    assignment, group, resource = row
    return {
        "id": assignment.id,
        "group": group.id,
        "group_name": group.display_name,
        "role": assignment.role,
        "resource": _address(ctx, resource),
        "assigned_by": assignment.assigned_by,
        "created_at": assignment.created_at,
    }
