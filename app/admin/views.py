"""The /admin pages: login, the overview, directories (tokens, journal, health).

Every POST under /admin is refused without its CSRF token before it reaches a view
(Flask-WTF's CSRFProtect, app.admin); views commit once, after the change.
"""

from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select

from app.admin import admin_page, bp, require
from app.admin.forms import ActionForm, DirectoryForm, LoginForm, RotateForm, TokenForm
from rbac import accounts, journal, tenancy
from rbac.db import utcnow
from rbac.models import (
    Directory,
    DirectoryToken,
    EffectiveAccess,
    Group,
    Organization,
    Provider,
    Resource,
    User,
)
from rbac.resources import org_resource
from web.db import get_session
from web.urls import scim_base_url

# Entra quarantines a provisioning job whose requests fail this share of the time or more.
ENTRA_QUARANTINE_ERROR_RATE = 0.40
JOURNAL_LINES = 100
# After the password, an admin of several organizations has this long to pick one.
CHOICE_LIFETIME = timedelta(minutes=5)
CHOOSING = "choosing"
FAILED_LOGIN = "Wrong email or password. Five failures in a row lock an account for 15 minutes."


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with an admin account's email and password."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form), 400 if form.errors else 200
    result = accounts.log_in(get_session(), form.email.data, form.password.data)
    get_session().commit()  # failed attempts count towards the lockout; successes are noted
    if not result.users:
        # One message for every failure: it never tells which emails have an account.
        flash(FAILED_LOGIN, "error")
        return render_template("admin/login.html", form=form), 401
    _end_previous_session()
    if len(result.users) == 1:
        return _start_session(result.users[0])
    # The password opened accounts in several organizations: the admin picks one, soon.
    session[CHOOSING] = {
        "users": [user.id for user in result.users],
        "until": (utcnow() + CHOICE_LIFETIME).timestamp(),
        "next": request.args.get("next", ""),
    }
    return redirect(url_for("admin.choose_organization"), code=303)


@bp.route("/login/organization", methods=["GET", "POST"])
def choose_organization():
    """Pick which of one's organizations to administer, right after the password opened them."""
    choosing = session.get(CHOOSING)
    if not choosing or choosing["until"] < utcnow().timestamp():
        session.pop(CHOOSING, None)
        flash("Log in again to choose an organization.", "info")
        return redirect(url_for("admin.login"), code=303)
    db = get_session()
    accounts_and_orgs = db.execute(
        select(User, Organization)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id.in_(choosing["users"]))
        .order_by(Organization.slug)
    ).all()
    form = ActionForm()
    if form.validate_on_submit():
        chosen = {user.id: user for user, _ in accounts_and_orgs}.get(request.form.get("user"))
        if chosen is None:
            flash("Choose one of the organizations listed.", "error")
        else:
            next_page = choosing["next"]
            _end_previous_session()
            return _start_session(chosen, next_page)
    return render_template("admin/choose_organization.html", choices=accounts_and_orgs, form=form)


def _end_previous_session() -> None:
    """End the session this browser had, if any, and start afresh (no fixation)."""
    accounts.end_session(get_session(), session.get("admin", ""))
    session.clear()


def _start_session(user: User, next_page: str | None = None):
    session["admin"] = accounts.open_session(get_session(), user)
    session.permanent = True
    get_session().commit()
    target = next_page if next_page is not None else request.args.get("next", "")
    return redirect(admin_page(target), code=303)


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session on the server, not only in the browser."""
    accounts.end_session(get_session(), session.get("admin", ""))
    get_session().commit()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("admin.login"), code=303)


@bp.route("/")
def overview():
    """The organization at a glance, and the admin's own role in it."""
    db = get_session()
    org_id = g.org.id
    counted = {
        "users": select(func.count()).where(User.organization_id == org_id),
        "groups": select(func.count()).where(Group.organization_id == org_id),
        "projects": select(func.count()).where(
            Resource.organization_id == org_id, Resource.kind == "project"
        ),
        "directories": select(func.count()).where(Directory.organization_id == org_id),
    }
    counts = {name: db.scalar(query) for name, query in counted.items()}
    own = db.get(EffectiveAccess, (g.admin.id, org_resource(db, g.org).id))
    return render_template("admin/overview.html", counts=counts, role=own.role if own else None)


# Directories


@bp.route("/directories", methods=["GET", "POST"])
def directories():
    """Every IdP connection: provider, state, tokens and health; connecting a new one."""
    require("manage_settings")
    form = DirectoryForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        found = tenancy.create_directory(get_session(), g.org, name, Provider(form.provider.data))
        _, plaintext = tenancy.issue_token(get_session(), found)
        get_session().commit()
        flash(f"Directory {name} is created: give your IdP the URL and the token below.", "info")
        return _directory_page(found, plaintext, 201)
    rows = [
        _directory_summary(d, _token_states(d))
        for d in tenancy.list_directories(get_session(), g.org)
    ]
    status = 400 if form.errors else 200
    return render_template(
        "admin/directories.html", directories=rows, base_url=scim_base_url(), form=form
    ), status


@bp.route("/directories/<directory>")
def directory(directory):
    """One directory: the SCIM URL, its tokens, pause/resume, health and the journal."""
    require("manage_settings")
    return _directory_page(_find_directory(directory))


def _directory_page(found: Directory, new_token: str | None = None, status: int = 200):
    filters = {
        "errors": request.args.get("status") == "errors",
        "method": request.args.get("method") or None,
        "tolerated": request.args.get("tolerated") == "1",
    }
    if filters["method"] not in (None, "GET", "POST", "PUT", "PATCH", "DELETE"):
        abort(400)
    lines = journal.recent_requests(
        get_session(),
        found.id,
        JOURNAL_LINES,
        filters["errors"],
        method=filters["method"],
        tolerated_only=filters["tolerated"],
    )
    tokens = _token_states(found)
    page = render_template(
        "admin/directory.html",
        directory=_directory_summary(found, tokens),
        tokens=tokens,
        lines=lines,
        reads=journal.read_counts(get_session(), found.id, utcnow() - timedelta(hours=1)),
        filters=filters,
        base_url=scim_base_url(),
        new_token=new_token,
        action=ActionForm(),
        rotate=RotateForm(),
        token_form=TokenForm(),
    )
    return page, status


def _find_directory(name: str) -> Directory:
    return tenancy.get_directory(get_session(), g.org, name)


def _token_states(found: Directory) -> list[tuple[DirectoryToken, str]]:
    now = utcnow()
    return [
        (t, tenancy.token_state(t, now).value) for t in tenancy.list_tokens(get_session(), found)
    ]


def _directory_summary(found: Directory, tokens: list[tuple[DirectoryToken, str]]) -> dict:
    now = utcnow()
    health = {}
    for label, window in (("hour", timedelta(hours=1)), ("day", timedelta(days=1))):
        total, failed = journal.request_counts(get_session(), found.id, now - window)
        rate = failed / total if total else 0.0
        health[label] = {
            "total": total,
            "failed": failed,
            "rate": rate,
            "quarantine": rate >= ENTRA_QUARANTINE_ERROR_RATE and total > 0,
        }
    live = [token for token, state in tokens if state in ("active", "expiring")]
    return {
        "row": found,
        "enabled": found.disabled_at is None,
        "live_tokens": len(live),
        "health": health,
    }


@bp.route("/directories/<directory>/tokens", methods=["POST"])
def create_token(directory):
    """Create a token: shown once, on this answer only."""
    require("manage_settings")
    found = _find_directory(directory)
    form = TokenForm()
    if not form.validate_on_submit():
        flash("A token expires in 1 to 3650 days, or never (left empty).", "error")
        return redirect(url_for("admin.directory", directory=directory), code=303)
    days = form.expires_in_days.data
    expires_at = utcnow() + timedelta(days=days) if days else None
    _, plaintext = tenancy.issue_token(get_session(), found, expires_at)
    get_session().commit()
    return _directory_page(found, plaintext, 201)


@bp.route("/directories/<directory>/tokens/rotate", methods=["POST"])
def rotate_tokens(directory):
    """A new token (shown once); the others keep working for the grace period, then expire."""
    require("manage_settings")
    found = _find_directory(directory)
    form = RotateForm()
    if not form.validate_on_submit():
        flash("The grace period is a number of hours from 0 to 8760.", "error")
        return redirect(url_for("admin.directory", directory=directory), code=303)
    _, plaintext, old = tenancy.rotate_tokens(
        get_session(), found, timedelta(hours=form.grace_hours.data)
    )
    get_session().commit()
    hours = form.grace_hours.data
    when = f"expire in {hours} hour(s)" if hours else "stopped working now"
    flash(f"{len(old)} older token(s) {when}.", "info")
    return _directory_page(found, plaintext, 201)


@bp.route("/directories/<directory>/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(directory, token_id):
    """Revoke one token at once."""
    require("manage_settings")
    token = tenancy.revoke_token(get_session(), _find_directory(directory), token_id)
    get_session().commit()
    flash(f"Token {token.prefix}… is revoked.", "info")
    return redirect(url_for("admin.directory", directory=directory), code=303)


@bp.route("/directories/<directory>/enable", methods=["POST"], defaults={"enabled": True})
@bp.route("/directories/<directory>/disable", methods=["POST"], defaults={"enabled": False})
def switch_directory(directory, enabled):
    """Pause provisioning (the IdP gets 403) or resume it."""
    require("manage_settings")
    tenancy.set_directory_enabled(get_session(), _find_directory(directory), enabled)
    get_session().commit()
    flash(f"Directory {directory} is {'resumed' if enabled else 'paused'}.", "info")
    return redirect(url_for("admin.directory", directory=directory), code=303)
