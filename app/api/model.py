"""/api/v1 routes of the RBAC model: projects, assets, direct grants, group assignments.

Reads take any key; writes an admin key, and go through `rbac.admin.resources` and
`rbac.admin.grants` (so through `apply_changes`, the key named as actor `apikey:N` in events).
Creates are idempotent: an identical existing object is a 200 with it, a different one a 409.
Everything is looked up in the key's organization, so another organization's object is a 404
exactly as a missing one. Grants and assignments share one set of routes (`_held_routes`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from app.api.boundary import (
    DELETE_ERRORS,
    LIST_ERRORS,
    acting_context,
    page_body,
    read_context,
    read_page,
    read_route,
    takes_body,
    write_route,
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
from rbac.admin.grants import give_role, take_role
from rbac.admin.resources import (
    delete_resource,
    get_or_create_asset,
    get_or_create_project,
    set_workforce_agents,
)
from rbac.context import Context
from rbac.errors import NotFound
from rbac.evaluation import ResourceKind
from rbac.holdings import ASSIGNMENTS, GRANTS, Holding
from rbac.lookups import find_group, find_user
from rbac.models import Group, Resource, User
from rbac.resources import address_of, find_resource, org_resource

# Grant and assignment ids are 32-bit integers: a larger id is a 404, not a database error.
_MAX_ID = 2**31 - 1
# A project's assets are listed only if the project exists.
_LIST_IN_PROJECT = {**LIST_ERRORS, 404: "NOT_FOUND"}

# Projects


@read_route("/projects", ProjectsPage, query=PageQuery, errors=LIST_ERRORS)
def list_projects(query):
    """The organization's projects, by id, a page at a time."""
    ctx = read_context()
    org = org_resource(ctx.session, ctx.org)
    page = read_page(query, listing.children_page, ctx.session, ctx.org, org)
    return page_body(page, _project, query)


@write_route("/projects", "POST", 201, ProjectOut, existed="the project existed: it is returned")
@takes_body(ProjectIn, "the new project")
def post_project(body):
    """Create a project (org owners and admins become its admins by cascade)."""
    project, created = get_or_create_project(acting_context(), body["slug"])
    return _project(project), 201 if created else 200


@read_route("/projects/<project>", ProjectOut)
def get_project(project):
    """A project, named by its slug."""
    ctx = read_context()
    return _project(find_resource(ctx.session, ctx.org, f"project:{project}"))


@write_route("/projects/<project>", "DELETE", 204, errors=DELETE_ERRORS)
def delete_project(project):
    """Delete a project and its assets: every role held on them is revoked (events say so)."""
    ctx = acting_context()
    delete_resource(ctx, find_resource(ctx.session, ctx.org, f"project:{project}"))


# Assets


@read_route("/projects/<project>/assets", AssetsPage, query=PageQuery, errors=_LIST_IN_PROJECT)
def list_assets(query, project):
    """A project's assets, by id, a page at a time."""
    ctx = read_context()
    parent = find_resource(ctx.session, ctx.org, f"project:{project}")
    page = read_page(query, listing.children_page, ctx.session, ctx.org, parent)
    return page_body(page, lambda asset: _asset(ctx, asset, parent), query)


@write_route(
    "/projects/<project>/assets",
    "POST",
    201,
    AssetOut,
    existed="an identical asset existed: it is returned (a different one is a 409)",
)
@takes_body(AssetIn, "the new asset")
def post_asset(body, project):
    """Create an asset; its creator, if named, gets its admin role as a direct grant."""
    ctx = acting_context()
    parent = find_resource(ctx.session, ctx.org, f"project:{project}")
    creator = find_user(ctx.session, ctx.org, body["creator"]) if "creator" in body else None
    uses = _agents(ctx, project, body.get("uses", []))
    asset, created = get_or_create_asset(
        ctx, parent, ResourceKind(body["kind"]), body["slug"], creator=creator, uses=uses
    )
    return _asset(ctx, asset, parent), 201 if created else 200


@read_route("/projects/<project>/assets/<asset>", AssetOut)
def get_asset(project, asset):
    """An asset: its kind, its creator's id, and the agents a workforce uses."""
    ctx = read_context()
    found = find_resource(ctx.session, ctx.org, f"asset:{project}/{asset}")
    return _asset(ctx, found, ctx.session.get(Resource, found.parent_id))


@write_route("/projects/<project>/assets/<asset>", "PATCH", 200, AssetOut)
@takes_body(AssetPatchIn, "the agents the workforce uses from now on")
def update_asset(body, project, asset):
    """Replace the agents a workforce uses (another kind of asset is a 422)."""
    ctx = acting_context()
    found = find_resource(ctx.session, ctx.org, f"asset:{project}/{asset}")
    set_workforce_agents(ctx, found, _agents(ctx, project, body["uses"]))
    return _asset(ctx, found, ctx.session.get(Resource, found.parent_id))


@write_route("/projects/<project>/assets/<asset>", "DELETE", 204, errors=DELETE_ERRORS)
def delete_asset(project, asset):
    """Delete an asset: every role held on it is revoked, and workforces stop using it."""
    ctx = acting_context()
    delete_resource(ctx, find_resource(ctx.session, ctx.org, f"asset:{project}/{asset}"))


def _agents(ctx: Context, project: str, slugs: list[str]) -> list[Resource]:
    """The project's agents named by these slugs (each must exist)."""
    return [find_resource(ctx.session, ctx.org, f"asset:{project}/{slug}") for slug in slugs]


# Direct grants and group assignments: one set of routes, registered for each


@dataclass(frozen=True)
class _Held:
    """What the grants routes and the assignments routes differ in."""

    holding: Holding  # the rows, their holder, who gave them (rbac.holdings)
    field: str  # names the holder in queries and bodies, and its id in answers
    find: Callable[..., User | Group]  # the holder named in that field
    named: str  # the holder's attribute answered as `{field}_name`
    label: Callable[[User | Group], str]  # the holder as a 404 names it
    body: str  # what a create's body is
    schemas: tuple  # the list's query and page, the create's body, the answer, the delete's query
    docs: tuple[str, ...]  # the docstrings of list, create, read, delete, delete by id


def _held_routes(held: _Held) -> None:
    """Register the list, create, read and delete routes of one kind of holding."""
    noun, (query_in, page_out, body_in, answer, triple) = held.holding.name, held.schemas
    rows, id_name = f"/{noun}s", f"{noun}_id"
    row = f"{rows}/<int(max={_MAX_ID}):{id_name}>"
    list_doc, post_doc, get_doc, delete_doc, delete_by_id_doc = held.docs

    @read_route(
        rows,
        page_out,
        query=query_in,
        errors={**LIST_ERRORS, 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"},
    )
    @_named(f"list_{noun}s", list_doc)
    def list_rows(query):
        ctx = read_context()
        filters = {
            "holder": _if_named(ctx, held.find, query, held.field),
            "resource": _if_named(ctx, find_resource, query, "resource"),
        }
        page = read_page(query, listing.held_page, ctx.session, ctx.org, held.holding, **filters)
        return page_body(page, lambda found: _held(ctx, held, found), query)

    @write_route(rows, "POST", 201, answer, existed=f"the identical {noun} existed: it is returned")
    @takes_body(body_in, held.body)
    @_named(f"post_{noun}", post_doc)
    def post_row(body):
        ctx = acting_context()
        holder = held.find(ctx.session, ctx.org, body[held.field])
        resource = find_resource(ctx.session, ctx.org, body["resource"])
        created = give_role(ctx, holder, body["role"], resource)
        found = listing.held_of(ctx.session, ctx.catalog, ctx.org, holder, body["role"], resource)
        return _held(ctx, held, found), 201 if created else 200

    @read_route(row, answer)
    @_named(f"get_{noun}", get_doc)
    def get_row(**path):
        ctx = read_context()
        found = listing.held_by_id(ctx.session, ctx.org, held.holding, path[id_name])
        return _held(ctx, held, found)

    @write_route(rows, "DELETE", 204, query=triple)
    @_named(f"delete_{noun}", delete_doc)
    def delete_row(query):
        ctx = acting_context()
        holder = held.find(ctx.session, ctx.org, query[held.field])
        resource = find_resource(ctx.session, ctx.org, query["resource"])
        _take(ctx, held, holder, query["role"], resource)

    @write_route(row, "DELETE", 204)
    @_named(f"delete_{noun}_by_id", delete_by_id_doc)
    def delete_row_by_id(**path):
        ctx = acting_context()
        found, holder, resource = listing.held_by_id(
            ctx.session, ctx.org, held.holding, path[id_name]
        )
        _take(ctx, held, holder, found.role, resource)


def _named(name: str, doc: str):
    """Name a view made for one kind of holding: its endpoint, and its docstring (the summary)."""

    def rename(view):
        view.__name__ = view.__qualname__ = name
        view.__doc__ = doc
        return view

    return rename


def _if_named(ctx: Context, find, query: dict, field: str):
    """What a list's query names in this field (found by the domain), or None if it names none."""
    return find(ctx.session, ctx.org, query[field]) if field in query else None


def _take(ctx: Context, held: _Held, holder: User | Group, role: str, resource: Resource) -> None:
    """Take the role back through the domain; none held is a 404."""
    if not take_role(ctx, holder, role, resource):
        message = f"no {held.holding.name} of {role!r} to {held.label(holder)}"
        raise NotFound(f"{message} on {address_of(ctx.session, resource)}")


_held_routes(
    _Held(
        GRANTS,
        "user",
        find_user,
        "user_name",
        lambda user: repr(user.user_name),
        "the grant to give",
        (GrantsQuery, GrantsPage, GrantIn, GrantOut, GrantTriple),
        (
            "The organization's direct grants, by id, optionally of one user or on one resource.",
            "Give a user a role directly on a resource (idempotent: an existing grant is a 200).",
            "A direct grant, by its id.",
            "Take back a direct grant named by user, role and resource (409 if a rail refuses).",
            "Take back a direct grant, by its id (409 if a safety rail refuses, naming it).",
        ),
    )
)
_held_routes(
    _Held(
        ASSIGNMENTS,
        "group",
        find_group,
        "display_name",
        lambda group: f"group {group.display_name!r}",
        "the assignment to make",
        (AssignmentsQuery, AssignmentsPage, AssignmentIn, AssignmentOut, AssignmentTriple),
        (
            "The organization's group assignments, by id, optionally of one group or resource.",
            "Let a group hold a role on a resource (idempotent: an existing one is a 200).",
            "A group assignment, by its id.",
            "Take a group's role on a resource back, named by group, role and resource.",
            "Take a group's role on a resource back, by the assignment's id.",
        ),
    )
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


def _held(ctx: Context, held: _Held, row: listing.HeldRow) -> dict:
    """A grant or an assignment, its holder and resource, as GrantOut or AssignmentOut."""
    given, holder, resource = row
    return {
        "id": given.id,
        held.field: holder.id,
        f"{held.field}_name": getattr(holder, held.named),
        "role": given.role,
        "resource": address_of(ctx.session, resource),
        held.holding.given_by: getattr(given, held.holding.given_by),
        "created_at": given.created_at,
    }
