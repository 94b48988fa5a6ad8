"""/admin organization settings, API keys and the audit log.

Settings that change everyone's access (the default role, the group-roles switch) are shown
first on a confirmation page listing whose access changes (seed 003's mapping switch), then
applied. API keys are created (shown once) and revoked here. The audit log is the event
stream, newest first, filtered by type, user, resource or actor.
"""

from flask import flash, g, render_template, request, url_for
from sqlalchemy import or_, select

from app.admin import acting, bp, may, require
from app.admin.boundary import Done, shown_once, writes
from app.admin.confirm import confirm_then_change
from app.admin.forms import ActionForm, ApiKeyForm, checked
from rbac import lookups, tenancy
from rbac.admin import settings
from rbac.catalog import Scope
from rbac.errors import InvalidValue, NotFound
from rbac.handlers import CAUSES
from rbac.models import AdminCredential, Event, User
from web.db import get_catalog, get_session

EVENTS_PER_PAGE = 100
EVENT_KINDS = ["access.", "dsync.", "user.", "group.", "grant.", "assignment.", "resource.", "org."]


@bp.route("/settings")
def org_settings():
    """The default role, the group-roles switch, admins, API keys and the role catalog."""
    catalog = get_catalog()
    require("manage_settings")
    db = get_session()
    admins = db.execute(
        select(User, AdminCredential)
        .join(AdminCredential, AdminCredential.user_id == User.id)
        .where(User.organization_id == g.org.id)
        .order_by(User.user_name_key)
    ).all()
    ladder = catalog.ladders[Scope.ORGANIZATION]
    return render_template(
        "admin/settings.html",
        default_roles=[role.name for role in ladder[1:]],
        admins=admins,
        keys=tenancy.list_api_keys(db, g.org),
        may_keys=may(catalog.administration.manage_api_keys),
        key_form=ApiKeyForm(),
        catalog=catalog,
        action=ActionForm(),
        new_key=shown_once(),
    )


@bp.route("/settings/change", methods=["GET", "POST"])
def change_settings():
    """Change the default role or the group-roles switch, after showing whose access changes."""
    require("manage_settings")
    values = request.values
    if "group_roles" in values:
        enabled = values["group_roles"] == "on"
        what = f"switch group roles {'on' if enabled else 'off'}"

        def change(ctx):
            settings.set_group_roles_enabled(ctx, enabled)

    elif "default_role" in values:
        role = values["default_role"] or None
        what = f"make the default role {role or 'none'}"

        def change(ctx):
            settings.set_default_role(ctx, role)

    else:
        raise InvalidValue("name the setting to change")
    return confirm_then_change(
        change,
        done=f"Done: {what}.",
        after=url_for("admin.org_settings"),
        back=url_for("admin.org_settings"),
        what=what,
        heading=f"{what.capitalize()}?",
        button=what.capitalize(),
        carry=dict(values),
    )


@bp.post("/settings/api-keys")
@writes("admin.org_settings")
def create_api_key():
    """Create an API key: shown once, on the page the admin is sent to."""
    form = checked(ApiKeyForm(), "an API key has a name (200 characters at most) and a role")
    key, plaintext = tenancy.issue_api_key(acting(), form.name.data.strip(), form.role.data)
    page = url_for("admin.org_settings")
    return Done(f"API key {key.prefix}… is created.", page, secret=plaintext)


@bp.post("/settings/api-keys/<int:key_id>/revoke")
@writes("admin.org_settings")
def revoke_api_key(key_id):
    """Revoke an API key at once."""
    key = tenancy.revoke_api_key(acting(), key_id)
    return Done(f"API key {key.prefix}… is revoked.", url_for("admin.org_settings"))


@bp.route("/events")
def events():
    """The audit log: the org's events, newest first, by type, user, resource, cause, actor."""
    require("view_audit_log")
    db = get_session()
    kind = request.args.get("type", "")
    query = select(Event).where(Event.organization_id == g.org.id)
    if kind in EVENT_KINDS:
        query = query.where(Event.type.startswith(kind))
    if who := request.args.get("user", "").strip():
        try:
            user_id = lookups.find_user(db, g.org, who).id
        except (NotFound, InvalidValue) as error:
            flash(str(error), "error")
            user_id = ""  # matches no event (None would match those without a user)
        query = query.where(
            or_(
                Event.data["user_id"].as_string() == user_id,  # access events
                Event.data["user"]["id"].as_string() == user_id,  # directory events
            )
        )
    if address := request.args.get("resource", "").strip():
        query = query.where(Event.data["resource"].as_string() == address)
    if (cause := request.args.get("cause", "")) in CAUSES:
        query = query.where(Event.data["cause"]["type"].as_string() == cause)
    if actor := request.args.get("actor", "").strip():
        query = query.where(
            or_(
                Event.data["actor"].as_string() == actor,  # admin and directory events
                Event.data["cause"]["actor"].as_string() == actor,  # access events
            )
        )
    if before := request.args.get("before", type=int):
        query = query.where(Event.id < before)
    rows = db.scalars(query.order_by(Event.id.desc()).limit(EVENTS_PER_PAGE + 1)).all()
    return render_template(
        "admin/events.html",
        events=rows[:EVENTS_PER_PAGE],
        more=rows[EVENTS_PER_PAGE - 1].id if len(rows) > EVENTS_PER_PAGE else None,
        kinds=EVENT_KINDS,
        causes=CAUSES,
        filters=request.args,
    )
