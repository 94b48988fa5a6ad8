"""The one write boundary of /admin, as `writes` is /api/v1's.

A write view parses its form, calls one domain operation (which authorises the admin
itself, on their access before the change) and returns `Done`. The boundary then:

- commits, once;
- answers 303 to the page to show next, so that reloading it repeats nothing; a secret shown
  once (a token, a key, a webhook's secret) is held server-side with the admin's session for
  that page, never in the browser's cookie, and shown by the page the redirect leads to;
- on a refusal (bad input, a permission, a safety rail, a conflict), rolls everything back
  and renders the page the form came from, with what was submitted still in its fields, the
  message, and a 4xx;
- turns a constraint conflict (two identical requests at the same moment) into a refusal
  that names it, never a 500.
"""

import functools
from dataclasses import dataclass

from flask import current_app, flash, redirect, request, session, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from app.admin import admin_page
from rbac import accounts
from rbac.errors import Conflict, DomainError, Forbidden, NeedsConfirmation, NotFound, Refused
from web.db import get_session

REFUSAL_STATUS = ((Forbidden, 403), (NotFound, 404), (Conflict, 409), (Refused, 409))


@dataclass(frozen=True)
class Done:
    """What a write did: the message to flash, the page to go to, a secret to show there once."""

    message: str
    target: str
    secret: str | None = None


def writes(page: str):
    """Make a view a write whose form is on the page `page` (an endpoint of this blueprint).

    The page gets those of the view's URL arguments it takes; a form that names the page it
    was sent from (its hidden `back` field) goes back there instead.
    """

    def decorate(view):
        @functools.wraps(view)
        def write(**arguments):
            rule = next(current_app.url_map.iter_rules(page))
            back = url_for(page, **{k: v for k, v in arguments.items() if k in rule.arguments})
            return run_write(lambda: view(**arguments), back)

        return write

    return decorate


def run_write(make_change, back: str):
    """Make a change (a callable returning Done), commit it and redirect; or refuse it on `back`."""
    db = get_session()
    try:
        done = make_change()
        if done.secret is not None:
            accounts.hold_shown_once(db, session["admin"], done.target, done.secret)
        db.commit()
    except DomainError as error:
        db.rollback()
        return refuse(error, back)
    except IntegrityError:
        db.rollback()
        conflict = Conflict("someone made the same change at the same moment: it is made once")
        return refuse(conflict, back)
    flash(done.message, "info")
    return redirect(done.target, code=303)


def refuse(error: DomainError, back: str):
    """Render the page a form came from, with the refusal flashed on it, and a 4xx."""
    flash(f"Not allowed: {error}" if isinstance(error, Forbidden) else str(error), "error")
    status = next((code for kind, code in REFUSAL_STATUS if isinstance(error, kind)), 400)
    if isinstance(error, NeedsConfirmation):
        status = 409
    page = admin_page(request.form.get("back") or back).partition("?")[0]
    try:
        endpoint, arguments = current_app.url_map.bind_to_environ(request.environ).match(
            page, method="GET"
        )
    except HTTPException:  # a page that is none: the overview
        endpoint, arguments = "admin.overview", {}
    answer = current_app.view_functions[endpoint](**arguments)
    body = answer[0] if isinstance(answer, tuple) else answer
    return body, status


def committed() -> None:
    """Commit what signing in or out wrote (no admin acts yet: the session is the change)."""
    get_session().commit()


def shown_once() -> str | None:
    """The secret held for this page by the write that redirected here; it is gone after."""
    token = session.get("admin")
    if not token:
        return None
    secret = accounts.take_shown_once(get_session(), token, request.path)
    if secret is not None:
        get_session().commit()
    return secret
