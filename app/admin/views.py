"""The /admin pages: login, the overview, directories (tokens, journal, health).

Every POST under /admin is refused without its CSRF token before it reaches a view
(Flask-WTF's CSRFProtect, app.admin); every change goes through the write boundary
(app.admin.boundary), which commits it.
"""

from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select

from app.admin import ID, acting, admin_page, bp, may_act, permission_of, require_any
from app.admin.boundary import Done, committed, shown_once, writes
from app.admin.confirm import confirm_then_change
from app.admin.forms import (
    ActionForm,
    DirectoryForm,
    LoginForm,
    NewPasswordForm,
    RotateForm,
    TokenForm,
    checked,
)
from app.observability import path_holds_secret
from rbac import accounts, journal, tenancy
from rbac.db import utcnow
from rbac.errors import InvalidValue
from rbac.hash_slots import Busy
from rbac.models import (
    Directory,
    DirectoryToken,
    EffectiveAccess,
    Group,
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
CHOOSING = "choosing"
FAILED_LOGIN = "Wrong email or password. Five failures in a row lock an account for 15 minutes."


@bp.route("/login")
def login():
    """The login form: an admin account's email and password."""
    return render_template("admin/login.html", form=LoginForm())


@bp.post("/login")
def log_in():
    """Check the password; open a session, or the choice among the accounts it opened."""
    form = LoginForm()
    if not form.validate():
        return render_template("admin/login.html", form=form), 400
    try:
        result = accounts.log_in(
            get_session(),
            form.email.data,
            form.password.data,
            address=request.remote_addr,
            hashing=current_app.extensions["rolecall.hash_slots"].take,
        )
    except accounts.TooManyAttempts as error:  # refused before any hash, and nothing written
        minutes = max(1, round(error.retry_after.total_seconds() / 60))
        flash(f"Too many sign-in attempts: try again in {minutes} minute(s).", "error")
        retry = {"Retry-After": str(max(1, int(error.retry_after.total_seconds())))}
        return render_template("admin/login.html", form=form), 429, retry
    except Busy:  # every hashing slot of this host is taken: refused at once
        flash("Too many sign-ins at once: try again in a moment.", "error")
        return render_template("admin/login.html", form=form), 429, {"Retry-After": "1"}
    if not result.users:
        committed()  # failed attempts count towards the lockout, and are events
        # One message for every failure: it never tells which emails have an account.
        flash(FAILED_LOGIN, "error")
        return render_template("admin/login.html", form=form), 401
    _end_previous_session()
    if len(result.users) == 1:
        return _start_session(result.users[0], request.args.get("next", ""))
    # The password opened accounts in several organizations: the admin picks one, soon. The
    # choice lives on the server; the cookie holds only its secret.
    session[CHOOSING] = accounts.open_choice(
        get_session(), result.users, request.args.get("next", "")
    )
    committed()
    return redirect(url_for("admin.choose_organization"), code=303)


@bp.route("/password/<token>")
@path_holds_secret
def set_password(token):
    """The one-time link's page: a new password for the account it was given for."""
    user = accounts.password_link_user(get_session(), token)
    return render_template("admin/set_password.html", user=user, form=NewPasswordForm())


@bp.post("/password/<token>")
@path_holds_secret
def set_password_now(token):
    """Set the account's password with the link, once; then log in with it."""
    form = NewPasswordForm()
    try:
        if not form.validate():
            raise InvalidValue("; ".join(e for field in form for e in field.errors))
        accounts.set_password_with_link(get_session(), token, form.password.data)
    except InvalidValue as error:
        flash(str(error), "error")
        user = accounts.password_link_user(get_session(), token)
        return render_template("admin/set_password.html", user=user, form=form), 400
    _end_previous_session()
    committed()
    flash("Your password is set: log in with it.", "info")
    return redirect(url_for("admin.login"), code=303)


@bp.route("/login/organization")
def choose_organization():
    """Pick which of one's organizations to administer, right after the password opened them."""
    choices = accounts.choice_accounts(get_session(), session.get(CHOOSING, ""))
    if not choices:
        return _choice_over()
    return render_template("admin/choose_organization.html", choices=choices, form=ActionForm())


@bp.post("/login/organization")
def choose():
    """Take one of the accounts the password opened; the choice ends (single use)."""
    token = session.get(CHOOSING, "")
    taken = accounts.take_choice(get_session(), token, request.form.get("user", ""))
    if taken is None:
        if accounts.choice_accounts(get_session(), token):
            flash("Choose one of the organizations listed.", "error")
            return choose_organization()
        return _choice_over()
    chosen, next_page = taken
    _end_previous_session()
    return _start_session(chosen, next_page)


def _choice_over():
    session.pop(CHOOSING, None)
    flash("Log in again to choose an organization.", "info")
    return redirect(url_for("admin.login"), code=303)


def _end_previous_session() -> None:
    """End the session (and any pending choice) this browser had, and start afresh."""
    accounts.end_session(get_session(), session.get("admin", ""))
    accounts.end_choice(get_session(), session.get(CHOOSING, ""))
    session.clear()


def _start_session(user: User, next_page: str):
    session["admin"] = accounts.open_session(get_session(), user)
    session.permanent = True
    committed()
    return redirect(admin_page(next_page), code=303)


@bp.post("/logout")
def logout():
    """End the session on the server, not only in the browser."""
    _end_previous_session()
    committed()
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


@bp.route("/directories")
def directories():
    """Every IdP connection: provider, state, tokens and health; the form to connect one."""
    require_any("manage_settings", "manage_directories")
    rows = [
        _directory_summary(d, _token_states(d))
        for d in tenancy.list_directories(get_session(), g.org)
    ]
    return render_template(
        "admin/directories.html",
        directories=rows,
        base_url=scim_base_url(),
        form=DirectoryForm(),
        may_manage=may_act("manage_directories"),
    )


@bp.post("/directories")
@writes("admin.directories")
def connect_directory():
    """Connect a directory; its first token is shown once, on its page."""
    form = checked(DirectoryForm())
    name = form.name.data.strip()
    ctx = acting()
    found = tenancy.create_directory(ctx, name, Provider(form.provider.data))
    _, plaintext = tenancy.issue_token(ctx, found)
    return Done(
        f"Directory {name} is created: give your IdP the URL and the token below.",
        url_for("admin.directory", directory=found.name),
        secret=plaintext,
    )


@bp.route("/directories/<directory>")
def directory(directory):
    """One directory: the SCIM URL, its tokens, pause/resume, health and the journal."""
    require_any("manage_settings", "manage_directories")
    return _directory_page(_find_directory(directory))


def _directory_page(found: Directory):
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
        new_token=shown_once(),
        population=tenancy.directory_population(get_session(), found),
        may_manage=may_act("manage_directories"),
        manage_permission=permission_of("manage_directories"),
        action=ActionForm(),
        rotate=RotateForm(),
        token_form=TokenForm(),
    )
    return page


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


@bp.post("/directories/<directory>/tokens")
@writes("admin.directory")
def create_token(directory):
    """Create a token: shown once, on the page the admin is sent to."""
    found = _find_directory(directory)
    form = checked(TokenForm(), "A token expires in 1 to 3650 days, or never (left empty).")
    expires_at = tenancy.expiry_in(form.expires_in_days.data)
    token, plaintext = tenancy.issue_token(acting(), found, expires_at)
    page = url_for("admin.directory", directory=directory)
    return Done(f"Token {token.prefix}… is created.", page, secret=plaintext)


@bp.post("/directories/<directory>/tokens/rotate")
@writes("admin.directory")
def rotate_tokens(directory):
    """A new token (shown once); the others keep working for the grace period, then expire."""
    found = _find_directory(directory)
    form = checked(RotateForm(), "The grace period is a number of hours from 0 to 8760.")
    _, plaintext, old = tenancy.rotate_tokens(
        acting(), found, timedelta(hours=form.grace_hours.data)
    )
    hours = form.grace_hours.data
    when = f"expire in {hours} hour(s)" if hours else "stopped working now"
    page = url_for("admin.directory", directory=directory)
    return Done(f"{len(old)} older token(s) {when}.", page, secret=plaintext)


@bp.post(f"/directories/<directory>/tokens/<{ID}:token_id>/revoke")
@writes("admin.directory")
def revoke_token(directory, token_id):
    """Revoke one token at once."""
    token = tenancy.revoke_token(acting(), _find_directory(directory), token_id)
    page = url_for("admin.directory", directory=directory)
    return Done(f"Token {token.prefix}… is revoked.", page)


@bp.route("/directories/<directory>/delete", methods=["GET", "POST"])
def delete_directory(directory):
    """Delete a directory, its users, groups and tokens, after a page listing the access lost."""
    found = _find_directory(directory)
    return confirm_then_change(
        lambda ctx: tenancy.delete_directory(ctx, found, confirmed=True),
        done=f"Directory {found.name} is deleted, with its users, groups and tokens.",
        after=url_for("admin.directories"),
        back=url_for("admin.directory", directory=found.name),
        what=f"directory {found.name}, its users, groups and tokens",
        verb="Delete",
    )


@bp.post("/directories/<directory>/enable", defaults={"enabled": True})
@bp.post("/directories/<directory>/disable", defaults={"enabled": False})
@writes("admin.directory")
def switch_directory(directory, enabled):
    """Pause provisioning (the IdP gets 403) or resume it."""
    tenancy.set_directory_enabled(acting(), _find_directory(directory), enabled)
    page = url_for("admin.directory", directory=directory)
    return Done(f"Directory {directory} is {'resumed' if enabled else 'paused'}.", page)
