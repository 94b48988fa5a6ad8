"""/api/v1/webhooks: an organization's webhook endpoints (rbac.webhooks), as the CLI has them.

An admin key manages them; any key reads them (never their secrets: a new endpoint's secret
is in the answer that creates it, once). Another organization's endpoint is a 404.
"""

from app.api.boundary import (
    READ_ERRORS,
    WRITE_ERRORS,
    acting_context,
    bp,
    documented_body,
    documented_errors,
    load_body,
    read_context,
    writes,
)
from app.api.schemas.webhooks import (
    DeadLettersOut,
    ReplayIn,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatchIn,
    WebhooksOut,
)
from rbac import webhooks

_MAX_ID = 2**31 - 1
_ID = f"<int(max={_MAX_ID}):webhook_id>"


@bp.route("/webhooks", methods=["GET"])
@bp.response(200, WebhooksOut)
@documented_errors({401: "UNAUTHORIZED"})
def list_webhooks():
    """The organization's endpoints, oldest first, with where delivery to each stands."""
    ctx = read_context()
    endpoints = webhooks.list_endpoints(ctx.session, ctx.org.id)
    return {"data": [_webhook(ctx, endpoint) for endpoint in endpoints]}


@bp.route("/webhooks", methods=["POST"])
@writes
@documented_body(WebhookIn, "the new endpoint")
@bp.response(201, WebhookCreatedOut)
@documented_errors(WRITE_ERRORS)
def post_webhook():
    """Add an endpoint; the answer carries its signing secret, shown this once."""
    body = load_body(WebhookIn)
    ctx = acting_context()
    endpoint, secret = webhooks.create_endpoint(ctx, body["url"], body.get("events", ()))
    return {**_webhook(ctx, endpoint), "secret": secret}


@bp.route(f"/webhooks/{_ID}", methods=["GET"])
@bp.response(200, WebhookOut)
@documented_errors(READ_ERRORS)
def get_webhook(webhook_id):
    """One endpoint and where delivery to it stands."""
    ctx = read_context()
    return _webhook(ctx, webhooks.get_endpoint(ctx.session, ctx.org.id, webhook_id))


@bp.route(f"/webhooks/{_ID}", methods=["PATCH"])
@writes
@documented_body(WebhookPatchIn, "what to change")
@bp.response(200, WebhookOut)
@documented_errors(WRITE_ERRORS)
def patch_webhook(webhook_id):
    """Change an endpoint's URL or event filter; pause (`enabled: false`) or resume it."""
    body = load_body(WebhookPatchIn)
    ctx = acting_context()
    endpoint = webhooks.get_endpoint(ctx.session, ctx.org.id, webhook_id)
    webhooks.update_endpoint(
        ctx,
        endpoint,
        url=body.get("url"),
        event_types=body.get("events"),
        enabled=body.get("enabled"),
    )
    return _webhook(ctx, endpoint)


@bp.route(f"/webhooks/{_ID}", methods=["DELETE"])
@writes
@bp.response(204)
@documented_errors({401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"})
def delete_webhook(webhook_id):
    """Delete an endpoint: nothing more is sent to it."""
    ctx = acting_context()
    webhooks.delete_endpoint(ctx, webhooks.get_endpoint(ctx.session, ctx.org.id, webhook_id))


@bp.route(f"/webhooks/{_ID}/replay", methods=["POST"])
@writes
@documented_body(ReplayIn, "the first event to deliver again")
@bp.response(200, WebhookOut)
@documented_errors(WRITE_ERRORS)
def replay_webhook(webhook_id):
    """Deliver again, in order, every event from an id on (its dead letters too)."""
    body = load_body(ReplayIn)
    ctx = acting_context()
    endpoint = webhooks.get_endpoint(ctx.session, ctx.org.id, webhook_id)
    webhooks.replay(ctx, endpoint, body["from_event"])
    return _webhook(ctx, endpoint)


@bp.route(f"/webhooks/{_ID}/dead-letters", methods=["GET"])
@bp.response(200, DeadLettersOut)
@documented_errors(READ_ERRORS)
def list_dead_letters(webhook_id):
    """The events the endpoint never accepted within the retry window, newest first."""
    ctx = read_context()
    endpoint = webhooks.get_endpoint(ctx.session, ctx.org.id, webhook_id)
    return {"data": webhooks.dead_letters(ctx.session, endpoint)}


def _webhook(ctx, endpoint) -> dict:
    """An endpoint as WebhookOut dumps it: its columns and its backlog."""
    return {
        **{column: getattr(endpoint, column) for column in _COLUMNS},
        "backlog": webhooks.backlog(ctx.session, endpoint),
    }


# Every WebhookOut field but the backlog is a column of the endpoint (by its attribute name).
_COLUMNS = tuple(
    field.attribute or name for name, field in WebhookOut().fields.items() if name != "backlog"
)
