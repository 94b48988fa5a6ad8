"""/admin webhooks: an organization's endpoints, where delivery to each stands, dead letters.

Endpoints are created here (the signing secret is shown once), paused and resumed, replayed
from an event id (a dead letter's, typically) and deleted; `rolecall worker` delivers.
"""

from datetime import timedelta

from flask import g, render_template, url_for

from app.admin import ID, acting, bp, require
from app.admin.boundary import Done, shown_once, writes
from app.admin.forms import ActionForm, ReplayForm, SecretRotationForm, WebhookForm, checked
from rbac import webhooks
from rbac.db import utcnow
from web.db import get_session


@bp.route("/webhooks")
def webhooks_page():
    """The endpoints with their delivery state, and the form to create one."""
    require("manage_webhooks")
    db = get_session()
    rows = [(e, webhooks.backlog(db, e)) for e in webhooks.list_endpoints(db, g.org.id)]
    return render_template("admin/webhooks.html", endpoints=rows, form=WebhookForm())


@bp.post("/webhooks")
@writes("admin.webhooks_page")
def create_webhook():
    """Create an endpoint: its signing secret is shown once, on its page."""
    form = checked(WebhookForm())
    patterns = (form.events.data or "").split(",")
    endpoint, secret = webhooks.create_endpoint(acting(), form.url.data, patterns)
    return Done(
        f"Webhook {endpoint.id} is created: it receives the events from now on.",
        url_for("admin.webhook", webhook_id=endpoint.id),
        secret=secret,
    )


@bp.route(f"/webhooks/<{ID}:webhook_id>")
def webhook(webhook_id):
    """One endpoint: its state, its dead letters, and replay."""
    require("manage_webhooks")
    endpoint = _endpoint(webhook_id)
    db = get_session()
    return render_template(
        "admin/webhook.html",
        endpoint=endpoint,
        backlog=webhooks.backlog(db, endpoint),
        dead=webhooks.dead_letters(db, endpoint),
        secret=shown_once(),
        action=ActionForm(),
        replay_form=ReplayForm(),
        rotation_form=SecretRotationForm(),
        signing=len(webhooks.signing_secrets(endpoint, utcnow())),
    )


def _endpoint(webhook_id: int):
    return webhooks.get_endpoint(get_session(), g.org.id, webhook_id)


@bp.route(
    f"/webhooks/<{ID}:webhook_id>/enable",
    methods=["POST"],
    defaults={"enabled": True},
)
@bp.route(
    f"/webhooks/<{ID}:webhook_id>/disable",
    methods=["POST"],
    defaults={"enabled": False},
)
@writes("admin.webhook")
def switch_webhook(webhook_id, enabled):
    """Pause delivery to an endpoint (events wait for it), or resume it."""
    webhooks.update_endpoint(acting(), _endpoint(webhook_id), enabled=enabled)
    return Done(
        f"Webhook {webhook_id} is {'resumed' if enabled else 'paused'}.",
        url_for("admin.webhook", webhook_id=webhook_id),
    )


@bp.post(f"/webhooks/<{ID}:webhook_id>/replay")
@writes("admin.webhook")
def replay_webhook(webhook_id):
    """Deliver again, in order, every event from an id on."""
    endpoint = _endpoint(webhook_id)
    form = checked(ReplayForm())
    revived = webhooks.replay(acting(), endpoint, form.from_event.data)
    return Done(
        f"Webhook {webhook_id} replays from event {form.from_event.data} "
        f"({revived} dead letter(s) among them).",
        url_for("admin.webhook", webhook_id=webhook_id),
    )


@bp.post(f"/webhooks/<{ID}:webhook_id>/rotate-secret")
@writes("admin.webhook")
def rotate_webhook_secret(webhook_id):
    """Give the endpoint a new secret (shown once); the old one signs too for the overlap."""
    form = checked(SecretRotationForm(), "the overlap is 0 to 720 hours")
    hours = form.overlap_hours.data if form.overlap_hours.data is not None else 24
    secret = webhooks.rotate_secret(acting(), _endpoint(webhook_id), timedelta(hours=hours))
    return Done(
        f"Webhook {webhook_id} has a new secret: give it to the receiver. "
        f"The old one also signs for {hours} hour(s).",
        url_for("admin.webhook", webhook_id=webhook_id),
        secret=secret,
    )


@bp.post(f"/webhooks/<{ID}:webhook_id>/delete")
@writes("admin.webhook")
def delete_webhook(webhook_id):
    """Delete an endpoint: nothing more is sent to it."""
    webhooks.delete_endpoint(acting(), _endpoint(webhook_id))
    return Done(f"Webhook {webhook_id} is deleted.", url_for("admin.webhooks_page"))
