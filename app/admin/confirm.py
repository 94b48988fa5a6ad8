"""Changes that take access away are shown before they are made.

GET runs the change as a dry run (`rbac.event_log.dry_run`) in a savepoint and undoes it: the
confirmation page says whose access would change (the engine computed it, nothing is
guessed), without writing an event or taking the organization's event lock. What it shows is
bounded: how many people, the changes counted by role, then the first PREVIEW_ROWS rows. A
page opened from another site (`Sec-Fetch-Site: cross-site`, a link on someone else's page:
the session cookie is SameSite=Lax) computes nothing. POST makes the change for real,
through the write boundary.
"""

from collections import Counter
from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request

from app.admin import acting
from app.admin.boundary import Done, run_write
from app.admin.forms import ActionForm
from rbac.errors import DomainError, Forbidden
from rbac.event_log import dry_run
from web.db import get_session

PREVIEW_ROWS = 100


@dataclass
class Preview:
    """What a change would do to access: people, changes counted by role, the first rows."""

    people: int = 0
    rows: int = 0
    by_change: list[tuple[tuple[str | None, str | None], int]] = field(default_factory=list)
    first: list[dict] = field(default_factory=list)


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
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return render_template(
            "admin/confirm.html", preview=None, back=back, action=ActionForm(), **page
        )
    try:
        shown = preview(change)
    except Forbidden as error:
        flash(f"Not allowed: {error}", "error")
        return redirect(back, code=303)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(back, code=303)
    return render_template(
        "admin/confirm.html", preview=shown, back=back, action=ActionForm(), **page
    )


def preview(change) -> Preview:
    """What a change would do to access: a dry run in a savepoint, undone; no event written."""
    db = get_session()
    savepoint = db.begin_nested()
    try:
        with dry_run(db) as collected:
            change(acting())
    finally:
        savepoint.rollback()
    changes = [data for kind, data in collected if kind.startswith("access.")]
    counted = Counter((c.get("old_role"), c.get("new_role")) for c in changes)
    return Preview(
        people=len({c["user"]["id"] for c in changes}),
        rows=len(changes),
        by_change=counted.most_common(),
        first=changes[:PREVIEW_ROWS],
    )
