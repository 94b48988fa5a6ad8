"""/admin pages of users and groups: who they are, what they hold and why; local groups edited.

Users and groups are the org's (org Owners and Admins: `manage_principals`). IdP groups are
read-only here, as everywhere; local groups are created, renamed, filled and deleted, the
deletion after a confirmation page that lists whose access it revokes.
"""

from flask import flash, g, render_template, request, url_for
from sqlalchemy import select

from app.admin import acting, bp, require
from app.admin.boundary import Done, shown_once, writes
from app.admin.confirm import confirm_then_change
from app.admin.forms import (
    ActionForm,
    GrantForm,
    GroupForm,
    LocalUserForm,
    MemberForm,
    RenameForm,
    checked,
)
from rbac import accounts, listing, lookups, queries
from rbac.admin import grants, principals
from rbac.errors import InvalidValue, NotFound
from rbac.models import AdminCredential, Directory
from rbac.resources import address_of, find_resource
from web.db import get_catalog, get_session
from web.urls import external_url

PER_PAGE = 100
# A user's grants, a group's own roles: shown on their page; /api/v1 pages through any number.
ROLES_SHOWN = 200


def _directory_names() -> dict[int, str]:
    query = select(Directory.id, Directory.name).where(Directory.organization_id == g.org.id)
    return dict(get_session().execute(query).all())


@bp.route("/users")
def users():
    """The org's users, searched by userName or display name, a page at a time."""
    require("manage_principals")
    search = request.args.get("q", "").strip()[:256]
    page = listing.users_page(
        get_session(), g.org, after=request.args.get("after"), limit=PER_PAGE, search=search
    )
    return render_template(
        "admin/users.html",
        page=page,
        search=search,
        directories=_directory_names(),
        form=LocalUserForm(),
    )


@bp.post("/users")
@writes("admin.users")
def create_user():
    """Create a local user (managed by no IdP)."""
    form = checked(LocalUserForm())
    display_name = (form.display_name.data or "").strip() or None
    made = principals.create_local_user(acting(), form.user_name.data.strip(), display_name)
    return Done(f"Local user {made.user_name} is created.", url_for("admin.user", user_id=made.id))


@bp.route("/users/<user_id>/deactivate", methods=["GET", "POST"], defaults={"active": False})
@bp.route("/users/<user_id>/reactivate", methods=["GET", "POST"], defaults={"active": True})
def set_user_active(user_id, active):
    """Deactivate a local user (after showing the access it suspends), or reactivate one."""
    found = lookups.find_user(get_session(), g.org, user_id)
    page = url_for("admin.user", user_id=found.id)

    def change(ctx):
        principals.set_local_user_active(ctx, found, active, confirmed=True)

    verb = "Reactivate" if active else "Deactivate"
    return confirm_then_change(
        change,
        done=f"{found.user_name} is {'reactivated' if active else 'deactivated'}.",
        after=page,
        back=page,
        heading=f"{verb} {found.user_name}?",
        button=verb,
    )


@bp.route("/users/<user_id>/delete", methods=["GET", "POST"])
def delete_user(user_id):
    """Delete a local user, after showing the access they lose."""
    found = lookups.find_user(get_session(), g.org, user_id)
    return _confirm_delete(
        f"local user {found.user_name}",
        lambda ctx: principals.delete_local_user(ctx, found, confirmed=True),
        url_for("admin.users"),
        url_for("admin.user", user_id=found.id),
    )


def _confirm_delete(what: str, delete, listed_on: str, shown_on: str):
    """Delete a local user or group after the page listing whose access it revokes."""
    return confirm_then_change(
        delete,
        done=f"{what[0].upper()}{what[1:]} is deleted.",
        after=listed_on,
        back=shown_on,
        what=what,
        verb="Delete",
    )


@bp.route("/users/<user_id>")
def user(user_id):
    """A user: profile, groups (direct and through nesting), access with sources, grants."""
    require("manage_principals")
    db = get_session()
    found = lookups.find_user(db, g.org, user_id)
    direct, nested = listing.groups_of(db, g.org, found)
    grants_held = listing.grants_page(db, g.org, user=found, limit=ROLES_SHOWN)
    explained = None
    if address := request.args.get("explain"):
        try:
            explained = queries.explain_document(acting(), found, find_resource(db, g.org, address))
        except (NotFound, InvalidValue) as error:
            flash(str(error), "error")
    return render_template(
        "admin/user.html",
        user=found,
        directories=_directory_names(),
        direct=direct,
        nested=nested,
        access=listing.access_of(db, g.org, found),
        grants=grants_held,
        addresses={r.id: address_of(db, r) for _, _, r in grants_held.items},
        explained=explained,
        grant_form=_grant_form(),
        admin_account=get_session().get(AdminCredential, found.id) is not None,
        locked_until=accounts.locked_until(get_session(), found),
        password_link=shown_once(),
        action=ActionForm(),
    )


@bp.post("/users/<user_id>/password-link")
@writes("admin.user")
def password_link(user_id):
    """Give an admin account's holder a one-time link to set its password (shown once here)."""
    found = lookups.find_user(get_session(), g.org, user_id)
    token = accounts.issue_password_link(acting(), found)
    return Done(
        f"A one-time link for {found.user_name}: give it to them. It works once, for 24 hours.",
        url_for("admin.user", user_id=found.id),
        secret=external_url("admin.set_password", token=token),
    )


@bp.post("/users/<user_id>/unlock")
@writes("admin.user")
def unlock_account(user_id):
    """Unlock an admin account that failed sign-ins locked (its email's attempts forgotten)."""
    found = lookups.find_user(get_session(), g.org, user_id)
    accounts.unlock(acting(), found)
    return Done(f"{found.user_name} may sign in again.", url_for("admin.user", user_id=found.id))


def _grant_form(**defaults) -> GrantForm:
    """The grant form, offering every role of every scope (the resource's scope decides)."""
    form = GrantForm(**defaults)
    catalog = get_catalog()
    names = {r.name for s in catalog.ladders for r in (*catalog.ladders[s], *catalog.additive[s])}
    form.role.choices = sorted(names)
    return form


@bp.post("/users/<user_id>/grants")
@writes("admin.user")
def grant_to_user(user_id):
    """Give the user a role directly on a resource (the engine checks the admin may)."""
    found = lookups.find_user(get_session(), g.org, user_id)
    message = _give_role(grants.give_role, found, found.user_name)
    return Done(message, url_for("admin.user", user_id=found.id))


@bp.post("/groups/<group_id>/roles")
@writes("admin.group")
def assign_to_group(group_id):
    """Give a group a role on a resource: on the org, seed 003's group-to-role mapping."""
    found = lookups.find_group(get_session(), g.org, group_id)
    message = _give_role(grants.give_role, found, f"group {found.display_name}")
    return Done(message, url_for("admin.group", group_id=found.id))


def _give_role(give, holder, who: str) -> str:
    """Give a holder the role the grant form names on the resource it names; say what it did."""
    ctx = acting()
    form = checked(_grant_form(), "name a resource (org, project:P or asset:P/A) and a role")
    address = form.resource.data.strip()
    try:
        resource = find_resource(ctx.session, g.org, address)
    except NotFound as error:  # typed in the form: said on the page
        raise InvalidValue(str(error)) from None
    changed = give(ctx, holder, form.role.data, resource)
    done = "now holds" if changed else "already held"
    return f"{who} {done} {form.role.data} on {address}."


@bp.post("/groups")
@writes("admin.groups")
def create_group():
    """Create a local group (managed by admins, not by any IdP)."""
    form = checked(GroupForm())
    made = principals.create_local_group(
        acting(),
        form.name.data.strip(),
        form.slug.data.strip(),
        (form.description.data or "").strip() or None,
    )
    page = url_for("admin.group", group_id=made.id)
    return Done(f"Local group {made.display_name} is created.", page)


@bp.route("/groups")
def groups():
    """The org's groups (IdP and local) with their member counts, and the form to make one."""
    require("manage_principals")
    db = get_session()
    search = request.args.get("q", "").strip()[:256]
    page = listing.groups_page(
        db, g.org, after=request.args.get("after"), limit=PER_PAGE, search=search
    )
    counts = listing.member_counts(db, g.org, [group.id for group in page.items])
    return render_template(
        "admin/groups.html",
        page=page,
        counts=counts,
        search=search,
        directories=_directory_names(),
        form=GroupForm(),
    )


@bp.route("/groups/<group_id>")
def group(group_id):
    """A group: its members, what it grants (its own and its parents' roles); local: its forms."""
    require("manage_principals")
    db = get_session()
    found = lookups.find_group(db, g.org, group_id)
    assignments = listing.assignments_page(db, g.org, group=found, limit=ROLES_SHOWN)
    return render_template(
        "admin/group.html",
        group=found,
        directories=_directory_names(),
        members=listing.direct_members(db, g.org, found, PER_PAGE),
        granted=queries.explain_group(acting(), found),
        assignments=assignments,
        addresses={r.id: address_of(db, r) for _, _, r in assignments.items},
        grant_form=_grant_form(resource="org"),
        action=ActionForm(),
        rename=RenameForm(name=found.display_name, description=found.description or ""),
        member_form=MemberForm(),
    )


@bp.post("/groups/<group_id>/rename")
@writes("admin.group")
def rename_group(group_id):
    """Rename a local group."""
    found = lookups.find_group(get_session(), g.org, group_id)
    form = checked(RenameForm(), "a group name has 1 to 256 characters, a description up to 1000")
    description = (form.description.data or "").strip()
    principals.rename_local_group(acting(), found, form.name.data.strip(), description)
    page = url_for("admin.group", group_id=found.id)
    return Done(f"The group is now named {found.display_name}.", page)


@bp.post("/groups/<group_id>/members")
@writes("admin.group")
def add_member(group_id):
    """Add a user, or a group to nest, to a local group."""
    ctx = acting()
    found = lookups.find_group(ctx.session, g.org, group_id)
    form = checked(MemberForm(), "name a user or a group")
    find = lookups.find_group if form.kind.data == "group" else lookups.find_user
    try:
        member = find(ctx.session, g.org, form.member.data.strip())
    except NotFound as error:  # typed in the form: said on the page
        raise InvalidValue(str(error)) from None
    principals.add_members(ctx, found, [member])
    page = url_for("admin.group", group_id=found.id)
    return Done(f"{form.member.data.strip()} is a member of {found.display_name}.", page)


@bp.route("/groups/<group_id>/members/<member_id>/remove", methods=["GET", "POST"])
def remove_member(group_id, member_id):
    """Take a user, or a nested group, out of a local group, after showing whose access goes."""
    db = get_session()
    found = lookups.find_group(db, g.org, group_id)
    try:
        member = lookups.find_user(db, g.org, member_id)
        name = member.user_name
    except NotFound:
        member = lookups.find_group(db, g.org, member_id)
        name = f"group {member.display_name}"

    def change(ctx):
        principals.remove_members(ctx, found, [member], confirmed=True)

    page = url_for("admin.group", group_id=found.id)
    return confirm_then_change(
        change,
        done=f"{name} is removed from {found.display_name}.",
        after=page,
        back=page,
        what=f"{name} from {found.display_name}",
    )


@bp.route("/groups/<group_id>/delete", methods=["GET", "POST"])
def delete_group(group_id):
    """Delete a local group, after a page listing whose access it revokes."""
    found = lookups.find_group(get_session(), g.org, group_id)
    return _confirm_delete(
        f"local group {found.display_name}",
        lambda ctx: principals.delete_local_group(ctx, found),
        url_for("admin.groups"),
        url_for("admin.group", group_id=found.id),
    )
