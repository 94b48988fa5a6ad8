"""/api/v1 routes of the RBAC model: projects, assets, direct grants, group assignments.

Reads take any key; writes an admin key, and go through `rbac.admin.resources` and
`rbac.admin.grants` (so through `apply_changes`, the key named as actor `apikey:N` in events).
Creates are idempotent: an identical existing object is a 200 with it, a different one a 409.
Everything is looked up in the key's organization, so another organization's object is a 404
exactly as a missing one.
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
from app.api.schemas.model import (
    AssetIn,
    AssetOut,
    AssetPatchIn,
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
from rbac import listing
from rbac.admin import grants
from rbac.admin.resources import (
    create_asset,
    create_project,
    delete_resource,
    set_workforce_agents,
)
from rbac.context import Context
from rbac.errors import NotFound
from rbac.evaluation import ResourceKind
from rbac.lookups import find_group, find_user
from rbac.models import Group, Resource, User
from rbac.resources import address_of, find_resource, org_resource

# Grant and assignment ids are 32-bit integers: a larger id is a 404, not a database error.
_MAX_ID = 2**31 - 1
_LIST = {401: "UNAUTHORIZED", 400: "BAD_REQUEST"}


def _existed(schema, description: str):
    """Document the 200 of an idempotent create: the identical object that already existed."""
    return bp.alt_response(200, schema=schema, description=description)


# Projects


@bp.route("/projects", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, ProjectsPage)
@documented_errors(_LIST)
def list_projects(query):
    """The organization's projects, by id, a page at a time."""
    ctx = read_context()
    org = org_resource(ctx.session, ctx.org)
    page = listing.children_page(
        ctx.session, ctx.org, org, after=query["after"], limit=query["limit"]
    )
    return page_body(page, _project, query["after"])


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
    org = org_resource(ctx.session, ctx.org)
    existing = listing.child_by_slug(ctx.session, ctx.org, org, body["slug"])
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


@bp.route("/projects/<project>", methods=["DELETE"])
@writes
@bp.response(204)
@documented_errors({401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"})
def delete_project(project):
    """Delete a project and its assets: every role held on them is revoked (events say so)."""
    ctx = acting_context()
    delete_resource(ctx, find_resource(ctx.session, ctx.org, f"project:{project}"))


# Assets


@bp.route("/projects/<project>/assets", methods=["GET"])
@bp.arguments(PageQuery, **QUERY)
@bp.response(200, AssetsPage)
@documented_errors({**_LIST, 404: "NOT_FOUND"})
def list_assets(query, project):
    """A project's assets, by id, a page at a time."""
    ctx = read_context()
    parent = find_resource(ctx.session, ctx.org, f"project:{project}")
    page = listing.children_page(
        ctx.session, ctx.org, parent, after=query["after"], limit=query["limit"]
    )
    return page_body(page, lambda asset: _asset(ctx, asset, parent), query["after"])


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
    existing = listing.child_by_slug(ctx.session, ctx.org, parent, body["slug"])
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


@bp.route("/projects/<project>/assets/<asset>", methods=["PATCH"])
@writes
@documented_body(AssetPatchIn, "the agents the workforce uses from now on")
@bp.response(200, AssetOut)
@documented_errors(WRITE_ERRORS)
def update_asset(project, asset):
    """Replace the agents a workforce uses (another kind of asset is a 422)."""
    body = load_body(AssetPatchIn)
    ctx = acting_context()
    found = find_resource(ctx.session, ctx.org, f"asset:{project}/{asset}")
    agents = [find_resource(ctx.session, ctx.org, f"asset:{project}/{s}") for s in body["uses"]]
    set_workforce_agents(ctx, found, agents)
    return _asset(ctx, found, ctx.session.get(Resource, found.parent_id))


@bp.route("/projects/<project>/assets/<asset>", methods=["DELETE"])
@writes
@bp.response(204)
@documented_errors({401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"})
def delete_asset(project, asset):
    """Delete an asset: every role held on it is revoked, and workforces stop using it."""
    ctx = acting_context()
    delete_resource(ctx, find_resource(ctx.session, ctx.org, f"asset:{project}/{asset}"))


# Direct grants


@bp.route("/grants", methods=["GET"])
@bp.arguments(GrantsQuery, **QUERY)
@bp.response(200, GrantsPage)
@documented_errors({**_LIST, 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"})
def list_grants(query):
    """The organization's direct grants, by id, optionally of one user or on one resource."""
    ctx = read_context()
    page = listing.grants_page(
        ctx.session,
        ctx.org,
        user=find_user(ctx.session, ctx.org, query["user"]) if "user" in query else None,
        resource=_resource_named(ctx, query),
        after=query["after"],
        limit=query["limit"],
    )
    return page_body(page, lambda row: _grant(ctx, row), query["after"])


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
    row = listing.grant_of(ctx.session, ctx.catalog, ctx.org, user, body["role"], resource)
    return _grant(ctx, row), 201 if created else 200


@bp.route(f"/grants/<int(max={_MAX_ID}):grant_id>", methods=["GET"])
@bp.response(200, GrantOut)
@documented_errors(READ_ERRORS)
def get_grant(grant_id):
    """A direct grant, by its id."""
    ctx = read_context()
    return _grant(ctx, listing.grant_by_id(ctx.session, ctx.org, grant_id))


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
    row, user, resource = listing.grant_by_id(ctx.session, ctx.org, grant_id)
    _revoke(ctx, user, row.role, resource)


def _revoke(ctx: Context, user: User, role: str, resource: Resource) -> None:
    """Revoke through the domain; no such grant is a 404."""
    if not grants.revoke_role(ctx, user, role, resource):
        raise NotFound(
            f"no grant of {role!r} to {user.user_name!r} on {address_of(ctx.session, resource)}"
        )


# Group assignments


@bp.route("/assignments", methods=["GET"])
@bp.arguments(AssignmentsQuery, **QUERY)
@bp.response(200, AssignmentsPage)
@documented_errors({**_LIST, 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"})
def list_assignments(query):
    """The organization's group assignments, by id, optionally of one group or resource."""
    ctx = read_context()
    page = listing.assignments_page(
        ctx.session,
        ctx.org,
        group=find_group(ctx.session, ctx.org, query["group"]) if "group" in query else None,
        resource=_resource_named(ctx, query),
        after=query["after"],
        limit=query["limit"],
    )
    return page_body(page, lambda row: _assignment(ctx, row), query["after"])


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
    row = listing.assignment_of(ctx.session, ctx.catalog, ctx.org, group, body["role"], resource)
    return _assignment(ctx, row), 201 if created else 200


@bp.route(f"/assignments/<int(max={_MAX_ID}):assignment_id>", methods=["GET"])
@bp.response(200, AssignmentOut)
@documented_errors(READ_ERRORS)
def get_assignment(assignment_id):
    """A group assignment, by its id."""
    ctx = read_context()
    return _assignment(ctx, listing.assignment_by_id(ctx.session, ctx.org, assignment_id))


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
    row, group, resource = listing.assignment_by_id(ctx.session, ctx.org, assignment_id)
    _unassign(ctx, group, row.role, resource)


def _unassign(ctx: Context, group: Group, role: str, resource: Resource) -> None:
    """Unassign through the domain; no such assignment is a 404."""
    if not grants.unassign_group(ctx, group, role, resource):
        message = f"no assignment of {role!r} to group {group.display_name!r}"
        raise NotFound(f"{message} on {address_of(ctx.session, resource)}")


def _resource_named(ctx: Context, query: dict) -> Resource | None:
    """The resource a list's query names, if it names one."""
    return find_resource(ctx.session, ctx.org, query["resource"]) if "resource" in query else None


def _same_asset(ctx: Context, asset: Resource, kind: str, creator, uses) -> bool:
    """Whether an existing asset is the one this create asks for (kind, creator, agents)."""
    return (
        asset.kind == kind
        and asset.created_by_user_id == (creator.id if creator else None)
        and {a.id for a in listing.agents_of(ctx.session, ctx.org, asset)} == {a.id for a in uses}
    )


# Dumps


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
    return {
        "id": asset.id,
        "slug": asset.slug,
        "project": project.slug,
        "kind": asset.kind,
        "resource": f"asset:{project.slug}/{asset.slug}",
        "creator": asset.created_by_user_id,
        "uses": [agent.slug for agent in listing.agents_of(ctx.session, ctx.org, asset)],
        "created_at": asset.created_at,
    }


def _grant(ctx: Context, row: listing.GrantRow) -> dict:
    """A grant, its user and resource, as GrantOut."""
    grant, user, resource = row
    return {
        "id": grant.id,
        "user": user.id,
        "user_name": user.user_name,
        "role": grant.role,
        "resource": address_of(ctx.session, resource),
        "granted_by": grant.granted_by,
        "created_at": grant.created_at,
    }


def _assignment(ctx: Context, row: listing.AssignmentRow) -> dict:
    """An assignment, its group and resource, as AssignmentOut."""
    assignment, group, resource = row
    return {
        "id": assignment.id,
        "group": group.id,
        "group_name": group.display_name,
        "role": assignment.role,
        "resource": address_of(ctx.session, resource),
        "assigned_by": assignment.assigned_by,
        "created_at": assignment.created_at,
    }
