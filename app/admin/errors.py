"""How /admin says no: domain refusals flash on the page they came from; never a stack trace."""

from flask import flash, redirect, render_template, request
from flask_wtf.csrf import CSRFError

from app.admin import admin_page, bp
from rbac.errors import DomainError, Forbidden, NotFound


@bp.app_errorhandler(CSRFError)
def csrf_refused(error):
    """A form without its token (or an expired one) changes nothing: 400, said plainly."""
    if not request.path.startswith("/admin"):
        raise error
    message = "This form has expired or did not come from this site. Reload the page and retry."
    return render_template("admin/error.html", title="Form refused", message=message), 400


@bp.errorhandler(NotFound)
def not_found(error):
    """Anything not in the admin's organization is missing, exactly as a made-up one."""
    return render_template("admin/error.html", title="Not found", message=str(error)), 404


@bp.errorhandler(Forbidden)
def forbidden(error):
    """The engine refused the admin this page or action (their own roles decide).

    A form sent from a page the admin may see (it names that page) gets the refusal flashed
    there, as any other refused change; anything else is a 403 page.
    """
    if request.method == "POST" and request.form.get("back"):
        flash(f"Not allowed: {error}", "error")
        return redirect(back(), code=303)
    return render_template("admin/error.html", title="Not allowed", message=str(error)), 403


@bp.errorhandler(DomainError)
def refused(error):
    """A refused change (a safety rail, bad input): flashed on the page it was sent from."""
    flash(str(error), "error")
    return redirect(back(), code=303)


def back() -> str:
    """The page a form was sent from (its hidden `back` field), if it is an /admin page.

    Forms say it themselves: a Referer is a browser's to send or not (and never to trust).
    """
    return admin_page(request.form.get("back", ""))
