"""/admin pages of projects and assets: who has access and why, and giving or taking roles.

A resource's page is for whoever may assign roles on it (the engine's `assign_roles`
permission of its scope: org Owners and Admins everywhere, a project Admin on their project
and its assets). Taking a role back first shows exactly what it will revoke (app.admin.confirm).
"""

from collections import Counter

from flask import g, render_template, request, url_for

from app.admin import ID, acting, admin_page, bp, guard, may, may_each, page_cursor
from app.admin.boundary import Done, run_write, writes
from app.admin.confirm import confirm_then_change
from app.admin.forms import (
    ActionForm,
    AgentsForm,
    AssetForm,
    HolderRoleForm,
    ProjectForm,
    checked,
)
from rbac import listing, lookups, queries
from rbac.admin import grants, resources
from rbac.catalog import Scope
from rbac.errors import InvalidValue, NotFound
from rbac.evaluation import ResourceKind
from rbac.holdings import ASSIGNMENTS, GRANTS, Holding
from rbac.models import Resource
from rbac.resources import address_of, find_resource, org_resource
from web.db import get_catalog, get_session

HOLDERS_PER_PAGE = 200
PROJECTS_PER_PAGE = ASSETS_PER_PAGE = 100
GROUP_SUGGESTIONS = 500
HELD_SHOWN = 1000  # grants and assignments on one resource; /api/v1 pages through any number
RUN = "asset.run"  # what a workforce's members must be able to do with each of its agents


@bp.post("/projects")
@writes("admin.projects")
def create_project():
    """Create a project (the engine lets org Owners and Admins)."""
    project = resources.create_project(acting(), checked(ProjectForm()).slug.data.strip())
    page = url_for("admin.project", project=project.slug)
    return Done(f"Project {project.slug} is created.", page)


@bp.route("/projects")
def projects():
    """The projects the admin manages access to; org admins also create them here."""
    db = get_session()
    root = org_resource(db, g.org)
    # The projects the admin holds some access to, then those where it lets them assign roles.
    page = _children(root, "after", PROJECTS_PER_PAGE, held_by=g.admin)
    permission = get_catalog().administration.assign_roles[Scope.PROJECT]
    visible = [p for p, ok in zip(page.items, may_each(permission, page.items), strict=True) if ok]
    can_create = may(get_catalog().administration.create_project)
    # Seed 002: an asset's Admin manages it without managing its project; list it apart.
    assets = []
    if not may(get_catalog().administration.assign_roles[Scope.ORGANIZATION]):
        held = listing.assets_held_by(db, g.org, g.admin, limit=PROJECTS_PER_PAGE)
        permission = get_catalog().administration.assign_roles[Scope.ASSET]
        allowed = may_each(permission, [asset for asset, _ in held])
        managed_projects = {p.id for p in visible}
        assets = [
            (asset, project)
            for (asset, project), ok in zip(held, allowed, strict=True)
            if ok and project.id not in managed_projects
        ]
    return render_template(
        "admin/projects.html",
        projects=visible,
        assets=assets,
        page=page,
        form=ProjectForm(),
        can_create=can_create,
    )


@bp.route("/projects/<project>")
def project(project):
    """A project: its assets, everyone with access and why, and its grants and assignments."""
    return _resource_page(f"project:{project}")


@bp.post("/projects/<project>")
@writes("admin.project")
def create_asset(project):
    """Create an asset in a project (the engine lets whoever may create assets there)."""
    found = find_resource(get_session(), g.org, f"project:{project}")
    form = checked(AssetForm())
    kind = ResourceKind(form.kind.data)
    made = resources.create_asset(acting(), found, kind, form.slug.data.strip())
    return Done(f"Asset {made.slug} is created.", url_for("admin.project", project=project))


@bp.route("/projects/<project>/assets/<asset>")
def asset(project, asset):
    """An asset: everyone with access and why, and its grants and assignments."""
    return _resource_page(f"asset:{project}/{asset}")


def _managed(address: str) -> Resource:
    """The resource at an address, if the admin may manage its access (else 403 or 404)."""
    found = find_resource(get_session(), g.org, address)
    guard(_assign_permission(found), found)
    return found


def _children(parent: Resource, cursor: str, limit: int, **only):
    """A page of a resource's children, resuming after the query parameter named `cursor`."""
    after = page_cursor(cursor) or 0
    return listing.children_page(get_session(), g.org, parent, after=after, limit=limit, **only)


def _assign_permission(resource: Resource) -> str:
    scope = ResourceKind(resource.kind).scope
    return get_catalog().administration.assign_roles[scope]


def _resource_page(address: str):
    db = get_session()
    found = _managed(address)
    holders = listing.holders_of(
        db, g.org, found, after=request.args.get("after"), limit=HOLDERS_PER_PAGE
    )
    assets = None
    if found.kind == ResourceKind.PROJECT.value:
        assets = _children(found, "assets_after", ASSETS_PER_PAGE)
    scope = ResourceKind(found.kind).scope
    catalog = get_catalog()
    # Seed 002: a workforce shows its agents, and who holds a role on it but cannot run one.
    agents, cannot_run, agents_form = [], {}, None
    if found.kind == ResourceKind.WORKFORCE.value:
        agents = listing.agents_of(db, g.org, found)
        if may(catalog.administration.edit_asset, found):
            agents_form = _agents_form(found)
            agents_form.agents.data = [agent.slug for agent in agents]
        for _, user in holders.items:
            if blocker := queries.workforce_blocker(db, catalog, user, RUN, found):
                cannot_run[user.id] = blocker
    roles = [r.name for r in (*catalog.ladders[scope], *catalog.additive[scope])]
    user_form, group_form = HolderRoleForm(prefix="user"), HolderRoleForm(prefix="group")
    for form in (user_form, group_form):
        form.role.choices = roles
    return render_template(
        "admin/resource.html",
        resource=found,
        address=address_of(db, found),
        holders=holders,
        grants=listing.grants_page(db, g.org, resource=found, limit=HELD_SHOWN),
        assignments=listing.assignments_page(db, g.org, resource=found, limit=HELD_SHOWN),
        assets=assets,
        agents=agents,
        cannot_run=cannot_run,
        agents_form=agents_form,
        asset_form=AssetForm(),
        user_form=user_form,
        group_form=group_form,
        action=ActionForm(),
        group_names=_group_names(),
    )


def _agents_form(workforce: Resource) -> AgentsForm:
    """The composition form, offering every agent of the workforce's project."""
    project = get_session().get(Resource, workforce.parent_id)
    siblings = listing.children_page(get_session(), g.org, project, limit=1000).items
    form = AgentsForm()
    form.agents.choices = [a.slug for a in siblings if a.kind == ResourceKind.AGENT.value]
    return form


@bp.post("/projects/<project>/assets/<asset>/agents")
@writes("admin.asset")
def workforce_agents(project, asset):
    """Choose the agents a workforce uses (who may run it then depends on them too)."""
    db = get_session()
    found = find_resource(db, g.org, f"asset:{project}/{asset}")
    if found.kind != ResourceKind.WORKFORCE.value:
        raise InvalidValue(f"{asset} is a {found.kind}: only a workforce uses agents")
    form = checked(_agents_form(found), "choose among the agents of this project")
    chosen = [find_resource(db, g.org, f"asset:{project}/{slug}") for slug in form.agents.data]
    resources.set_workforce_agents(acting(), found, chosen)
    names = ", ".join(form.agents.data) or "no agent"
    page = url_for("admin.asset", project=project, asset=asset)
    return Done(f"{asset} now uses {names}.", page)


def _group_names() -> list[tuple[str, str]]:
    """Suggestions for the group field (a datalist: no script): what to send, what it shows.

    A name several groups share (an IdP's and a local one) is offered as each group's id.
    """
    groups = lookups.list_groups(get_session(), g.org, limit=GROUP_SUGGESTIONS)
    names = Counter(group.display_name_key for group in groups)
    return [
        (
            group.id if names[group.display_name_key] > 1 else group.display_name,
            f"{group.display_name} ({'local' if group.directory_id is None else 'IdP'})",
        )
        for group in groups
    ]


@bp.post("/projects/<project>/roles")
@bp.post("/projects/<project>/assets/<asset>/roles")
def give_role(project, asset=None):
    """Give a role on a resource to a user (a direct grant) or a group (an assignment)."""
    address = f"asset:{project}/{asset}" if asset else f"project:{project}"
    page = url_for("admin.asset", project=project, asset=asset) if asset else None
    return run_write(lambda: _give_role(address), page or url_for("admin.project", project=project))


def _give_role(address: str) -> Done:
    found = find_resource(get_session(), g.org, address)
    kind = request.form.get("kind")
    form = HolderRoleForm(prefix=kind if kind in ("user", "group") else "user")
    scope = ResourceKind(found.kind).scope
    catalog = get_catalog()
    roles = (*catalog.ladders[scope], *catalog.additive[scope])
    form.role.choices = [role.name for role in roles]
    checked(form, "name a user or a group, and one of the roles offered")
    ctx = acting()
    name = form.holder.data.strip()
    try:
        if kind == "group":
            holder = lookups.find_group(ctx.session, ctx.org, name)
        else:
            holder = lookups.find_user(ctx.session, ctx.org, name)
    except NotFound as error:  # a name typed in the form: said on the page, not a 404 page
        raise InvalidValue(str(error)) from None
    if kind == "group":
        changed = grants.give_role(ctx, holder, form.role.data, found)
        who = f"group {holder.display_name}"
    else:
        changed = grants.give_role(ctx, holder, form.role.data, found)
        who = holder.user_name
    done = "now holds" if changed else "already held"
    return Done(f"{who} {done} {form.role.data} on {address}.", _page_of(found))


@bp.route(f"/grants/<{ID}:grant_id>/remove", methods=["GET", "POST"])
def remove_grant(grant_id):
    """Take a direct grant back, after showing whose access it revokes."""
    return _remove(GRANTS, grant_id)


@bp.route(f"/assignments/<{ID}:assignment_id>/remove", methods=["GET", "POST"])
def remove_assignment(assignment_id):
    """Take a group's role back, after showing every member whose access it revokes."""
    return _remove(ASSIGNMENTS, assignment_id)


def _remove(holding: Holding, held_id: int):
    """Confirm, then take back a grant or an assignment on a resource.

    The engine judges the change, its preview included. The admin goes back to the page the
    link named (`?back=`, a user's or a group's page), else to the resource's page.
    """
    held, holder, found = listing.held_by_id(get_session(), g.org, holding, held_id)

    def take(ctx):
        grants.take_role(ctx, holder, held.role, found, confirmed=True)

    address = address_of(get_session(), found)
    if holding is GRANTS:
        what = f"{held.role} granted directly to {holder.user_name} on {address}"
    else:
        what = f"{held.role} held by group {holder.display_name} on {address}"
    page = admin_page(request.args["back"]) if "back" in request.args else _page_of(found)
    return confirm_then_change(take, done=f"Removed: {what}.", after=page, back=page, what=what)


def _page_of(found: Resource) -> str:
    address = address_of(get_session(), found)
    if found.kind == ResourceKind.ORGANIZATION.value:
        return url_for("admin.org_settings")
    if found.kind == ResourceKind.PROJECT.value:
        return url_for("admin.project", project=found.slug)
    project_slug = address.partition(":")[2].partition("/")[0]
    return url_for("admin.asset", project=project_slug, asset=found.slug)
