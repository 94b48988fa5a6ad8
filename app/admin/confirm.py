"""Changes that take access away are shown before they are made.

GET runs the change in a savepoint, reads the access events it writes, and undoes it: the
confirmation page lists exactly whose access would change (the engine computed it, nothing
is guessed). POST makes the change for real, through the write boundary.
"""

from flask import flash, g, redirect, render_template, request
from sqlalchemy import func, select

from app.admin import acting
from app.admin.boundary import Done, run_write
from app.admin.forms import ActionForm
from rbac.errors import DomainError, Forbidden
from rbac.models import Event
from web.db import get_session


def confirm_then_change(change, *, done: str, after: str, back: str, **page):
    """Show whose access a change would change (GET); make it and go to `after` (POST).

    A change refused (a safety rail, a permission) is said on the page the admin came from:
    rendered there with a 4xx when it was the change itself (app.admin.boundary), redirected
    to when it was its preview.
    """
    if request.method == "POST":

        def make_change():
            change(acting())
            return Done(done, after)

        return run_write(make_change, back)
    try:
        changes = preview(change)
    except Forbidden as error:
        flash(f"Not allowed: {error}", "error")
        return redirect(back, code=303)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(back, code=303)
    return render_template(
        "admin/confirm.html", changes=changes, back=back, action=ActionForm(), **page
    )


def preview(change) -> list[dict]:
    """What a change would do to access: run it in a savepoint, read its events, undo it."""
    db = get_session()
    last = db.scalar(select(func.max(Event.id)).where(Event.organization_id == g.org.id)) or 0
    savepoint = db.begin_nested()
    try:
        change(acting())
        written = db.scalars(
            select(Event)
            .where(Event.organization_id == g.org.id, Event.id > last)
            .where(Event.type.like("access.%"))
            .order_by(Event.id)
        ).all()
        return [dict(event.data, type=event.type) for event in written]
    finally:
        savepoint.rollback()
