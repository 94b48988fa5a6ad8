"""/admin organization settings, API keys and the audit log.

Settings that change everyone's access (the default role, the group-roles switch) are shown
first on a confirmation page listing whose access changes (seed 003's mapping switch), then
applied. API keys are created (shown once) and revoked here. The audit log is the event
stream, newest first, filtered by type, user, resource or actor.
"""

from flask import flash, g, render_template, request, url_for
from sqlalchemy import select

from app.admin import ID, MAX_EVENT_ID, acting, bp, may, page_cursor, require
from app.admin.boundary import Done, shown_once, writes
from app.admin.confirm import confirm_then_change
from app.admin.forms import ActionForm, ApiKeyForm, checked
from rbac import audit, lookups, tenancy
from rbac.admin import settings
from rbac.catalog import Scope
from rbac.errors import InvalidValue, NotFound
from rbac.event_types import CAUSES, FAMILIES
from rbac.models import AdminCredential, User
from rbac.resources import find_resource
from web.db import get_catalog, get_session

EVENTS_PER_PAGE = 100


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
    form = checked(
        ApiKeyForm(), "an API key has a name (200 characters at most), a role, and 1 to 3650 days"
    )
    expires_at = tenancy.expiry_in(form.expires_in_days.data)
    key, plaintext = tenancy.issue_api_key(
        acting(), form.name.data.strip(), form.role.data, expires_at
    )
    page = url_for("admin.org_settings")
    return Done(f"API key {key.prefix}… is created.", page, secret=plaintext)


@bp.post(f"/settings/api-keys/<{ID}:key_id>/revoke")
@writes("admin.org_settings")
def revoke_api_key(key_id):
    """Revoke an API key at once."""
    key = tenancy.revoke_api_key(acting(), key_id)
    return Done(f"API key {key.prefix}… is revoked.", url_for("admin.org_settings"))


@bp.route("/events")
def events():
    """The audit log, as much as the admin's roles cover: newest first, filtered."""
    ctx = acting()
    scope = audit.audit_scope(ctx)
    wanted, understood = _audit_filter(ctx)
    rows = audit.read_audit_log(ctx, scope, wanted, EVENTS_PER_PAGE + 1) if understood else []
    return render_template(
        "admin/events.html",
        events=rows[:EVENTS_PER_PAGE],
        more=rows[EVENTS_PER_PAGE - 1].id if len(rows) > EVENTS_PER_PAGE else None,
        kinds=FAMILIES,
        causes=CAUSES,
        filters=request.args,
        sees_membership=scope.sees_membership,
    )


def _audit_filter(ctx) -> tuple[audit.AuditFilter, bool]:
    """The audit log's filter from the query; False if a value names nothing (said on the page)."""
    args, understood = request.args, True
    user_id = resource_id = None
    try:
        if who := args.get("user", "").strip():
            user_id = lookups.find_user(ctx.session, ctx.org, who).id
        if address := args.get("resource", "").strip():
            resource_id = find_resource(ctx.session, ctx.org, address).id
    except (NotFound, InvalidValue) as error:
        flash(str(error), "error")
        understood = False
    family = args.get("type") or None
    cause = args.get("cause") or None
    for name, value, known in (("type", family, FAMILIES), ("cause", cause, CAUSES)):
        if value is not None and value not in known:
            flash(f"no event {name} {value!r}", "error")
            understood = False
    before = page_cursor("before", MAX_EVENT_ID)
    wanted = audit.AuditFilter(
        family=family,
        user_id=user_id,
        resource_id=resource_id,
        cause=cause,
        actor=args.get("actor", "").strip() or None,
        before=before or None,
    )
    return wanted, understood
