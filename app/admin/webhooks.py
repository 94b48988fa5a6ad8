"""/admin webhooks: an organization's endpoints, where delivery to each stands, dead letters.

Endpoints are created here (the signing secret is shown once), paused and resumed, replayed
from an event id (a dead letter's, typically) and deleted; `rolecall worker` delivers.
"""

from flask import flash, g, redirect, render_template, url_for

from app.admin import acting, bp, require
from app.admin.forms import ActionForm, ReplayForm, WebhookForm, flash_errors
from rbac import webhooks
from web.db import get_session


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks_page():
    """The endpoints with their delivery state; a new one is created here."""
    require("manage_webhooks")
    form = WebhookForm()
    if form.validate_on_submit():
        patterns = (form.events.data or "").split(",")
        endpoint, secret = webhooks.create_endpoint(acting(), form.url.data, patterns)
        get_session().commit()
        flash(f"Webhook {endpoint.id} is created: it receives the events from now on.", "info")
        return _page_of(endpoint, secret), 201
    status = 400 if flash_errors(form) else 200
    db = get_session()
    rows = [(e, webhooks.backlog(db, e)) for e in webhooks.list_endpoints(db, g.org.id)]
    return render_template("admin/webhooks.html", endpoints=rows, form=form), status


@bp.route("/webhooks/<int(max=2147483647):webhook_id>")
def webhook(webhook_id):
    """One endpoint: its state, its dead letters, and replay."""
    require("manage_webhooks")
    return _page_of(_endpoint(webhook_id))


def _page_of(endpoint, secret: str | None = None) -> str:
    db = get_session()
    return render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        backlog=webhooks.backlog(db, endpoint),
        dead=webhooks.dead_letters(db, endpoint),
        secret=secret,
        action=ActionForm(),
        replay_form=ReplayForm(),
    )


def _endpoint(webhook_id: int):
    return webhooks.get_endpoint(get_session(), g.org.id, webhook_id)


@bp.route(
    "/webhooks/<int(max=2147483647):webhook_id>/enable",
    methods=["POST"],
    defaults={"enabled": True},
)
@bp.route(
    "/webhooks/<int(max=2147483647):webhook_id>/disable",
    methods=["POST"],
    defaults={"enabled": False},
)
def switch_webhook(webhook_id, enabled):
    """Pause delivery to an endpoint (events wait for it), or resume it."""
    require("manage_webhooks")
    webhooks.update_endpoint(acting(), _endpoint(webhook_id), enabled=enabled)
    get_session().commit()
    flash(f"Webhook {webhook_id} is {'resumed' if enabled else 'paused'}.", "info")
    return redirect(url_for("admin.webhook", webhook_id=webhook_id), code=303)


@bp.route("/webhooks/<int(max=2147483647):webhook_id>/replay", methods=["POST"])
def replay_webhook(webhook_id):
    """Deliver again, in order, every event from an id on."""
    require("manage_webhooks")
    endpoint = _endpoint(webhook_id)
    form = ReplayForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("admin.webhook", webhook_id=webhook_id), code=303)
    revived = webhooks.replay(acting(), endpoint, form.from_event.data)
    get_session().commit()
    flash(
        f"Webhook {webhook_id} replays from event {form.from_event.data} "
        f"({revived} dead letter(s) among them).",
        "info",
    )
    return redirect(url_for("admin.webhook", webhook_id=webhook_id), code=303)


@bp.route("/webhooks/<int(max=2147483647):webhook_id>/delete", methods=["POST"])
def delete_webhook(webhook_id):
    """Delete an endpoint: nothing more is sent to it."""
    require("manage_webhooks")
    webhooks.delete_endpoint(acting(), _endpoint(webhook_id))
    get_session().commit()
    flash(f"Webhook {webhook_id} is deleted.", "info")
    return redirect(url_for("admin.webhooks_page"), code=303)
