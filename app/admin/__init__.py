"""The /admin views: small server-rendered pages for an organization's admins.

An admin logs in with the email and password of their account (`rolecall admin create`); the
browser holds a signed session cookie naming a server-side session (`rbac.accounts`). Every
page acts as that user: reads and changes are checked by the engine against the user's own
roles, and everything is scoped to the user's organization (another org's object is a 404).
Every change goes through one write boundary (`app.admin.boundary`): it commits, answers 303,
and renders a refusal on the form's page with a 4xx; a refused read is an error page
(`app.admin.errors`).
"""

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Flask, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from rbac import accounts, queries
from rbac.authorization import authorize
from rbac.context import Actor, Context
from rbac.errors import Forbidden
from rbac.models import Organization
from rbac.resources import org_resource
from web.db import get_catalog, get_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
csrf = CSRFProtect()

# Integers from requests are bounded to their columns: an id in a path to an INTEGER's (a
# larger one is a 404 like any made-up id), a cursor to its column's (PostgreSQL refuses a
# larger operand with an error, never a 500 of ours). Event ids are BIGINTs.
MAX_ID = 2**31 - 1
MAX_EVENT_ID = 2**63 - 1
ID = f"int(max={MAX_ID})"
# A page of /admin: printable ASCII after the prefix (no space, no control character).
ADMIN_PAGE = re.compile(r"/admin/[!-~]*")
PUBLIC_ENDPOINTS = {
    "admin.login",
    "admin.log_in",
    "admin.choose_organization",
    "admin.choose",
    "admin.logout",  # also ends a choice of organization not yet made
    "admin.set_password",  # the one-time link is the credential
    "admin.set_password_now",
}


def init_app(app: Flask) -> None:
    """Register /admin with its session cookie and CSRF protection."""
    if not app.config.get("SECRET_KEY"):  # Flask's default is None, not absent
        app.config["SECRET_KEY"] = _secret_key(app)
    secure = (app.config.get("PUBLIC_BASE_URL") or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="rolecall_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/admin",
        PERMANENT_SESSION_LIFETIME=accounts.SESSION_LIFETIME,
        WTF_CSRF_TIME_LIMIT=int(accounts.SESSION_LIFETIME / timedelta(seconds=1)),
    )
    app.session_interface = CookieOnlySessions()
    csrf.init_app(app)
    # The page modules register their routes on bp.
    from app.admin import errors, principals, resources, settings, views, webhooks  # noqa: F401

    app.register_blueprint(bp)
    # Bearer-token APIs carry no cookie: cross-site requests cannot borrow their credentials.
    csrf.exempt(app.blueprints["scim"])
    csrf.exempt(app.blueprints["api"])


class CookieOnlySessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only when the request carries the cookie.

    SCIM and API requests never do; opening a session anyway built a signer per request
    (about 20 us of a check's 400).
    """

    def open_session(self, app, request):
        """An empty session without a cookie; else Flask's own."""
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _secret_key(app: Flask) -> str:
    """ROLECALL_SECRET_KEY, else a key kept in the instance folder (made once, owner-only)."""
    if key := os.environ.get("ROLECALL_SECRET_KEY"):
        return key
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # gunicorn's workers may all start here at once: the key is written whole to a file of
        # this process's own, then linked into place; a worker that loses the race reads the
        # winner's key.
        path.parent.mkdir(parents=True, exist_ok=True)
        mine = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(mine, path)
        except FileExistsError:
            pass
        finally:
            mine.unlink()
    return path.read_text().strip()


@bp.before_request
def require_login():
    """Find the logged-in admin; send anyone else to the login page."""
    token = session.get("admin")
    user = accounts.session_user(get_session(), token) if token else None
    if user is None:
        session.pop("admin", None)
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    g.admin = user
    g.org = get_session().get(Organization, user.organization_id)
    return None


def admin_page(target: str) -> str:
    """The target if it is a page of /admin on this site, else the overview (no open redirect)."""
    if ADMIN_PAGE.fullmatch(target) and "//" not in target and "\\" not in target:
        return target
    return url_for("admin.overview")


def page_cursor(name: str, maximum: int = MAX_ID) -> int | None:
    """A paging cursor from the query string, at most `maximum`; None if absent or no number."""
    value = request.args.get(name, "")
    if not (value.isascii() and value.isdigit()):
        return None
    return min(int(value), maximum)


def acting() -> Context:
    """The context of the logged-in admin: their organization, acted on by them."""
    actor = Actor(accounts.admin_label(g.admin), user_id=g.admin.id)
    return Context(get_session(), get_catalog(), g.org, actor)


def require(action: str, resource=None) -> None:
    """Refuse (403) an admin action (a catalog `administration` entry) the admin's roles forbid.

    The action is checked on the organization unless a resource is named.
    """
    guard(permission_of(action), resource)


def require_any(*actions: str) -> None:
    """Refuse (403) a page unless the admin's roles allow one of these admin actions."""
    if not any(may_act(action) for action in actions):
        require(actions[0])


def may_act(action: str, resource=None) -> bool:
    """Whether the logged-in admin may take an admin action (a catalog `administration` entry)."""
    return may(permission_of(action), resource)


def permission_of(action: str) -> str:
    """The permission an admin action needs, in this deployment's catalog."""
    return getattr(get_catalog().administration, action)


def may(permission: str, resource=None) -> bool:
    """Whether the logged-in admin may use a permission (on the org, unless a resource is named)."""
    try:
        guard(permission, resource)
    except Forbidden:
        return False
    return True


def may_each(permission: str, resources: list) -> list[bool]:
    """Whether the logged-in admin may use a permission on each resource (one query for all)."""
    decisions = queries.check_each(get_session(), get_catalog(), g.admin, permission, resources)
    return [decision.allowed for decision in decisions]


def guard(permission: str, resource=None) -> None:
    """Refuse (403) what the admin's roles forbid: the one question every page asks the engine.

    Writes are judged by their domain operations; a page asks the same authorisation
    (`rbac.authorization.authorize`) before it shows anything.
    """
    target = resource if resource is not None else org_resource(get_session(), g.org)
    authorize(acting(), permission, target)
