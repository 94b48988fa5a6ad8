"""/api/v1/webhooks: an organization's webhook endpoints (rbac.webhooks), as the CLI has them.

An admin key manages them; any key reads them (never their secrets: a new endpoint's secret
is in the answer that creates it, once). Another organization's endpoint is a 404.
"""

from app.api.boundary import (
    DELETE_ERRORS,
    KEY_ERRORS,
    acting_context,
    read_context,
    read_route,
    takes_body,
    write_route,
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


@read_route("/webhooks", WebhooksOut, errors=KEY_ERRORS)
def list_webhooks():
    """The organization's endpoints, oldest first, with where delivery to each stands."""
    ctx = read_context()
    endpoints = webhooks.list_endpoints(ctx.session, ctx.org.id)
    return {"data": [_webhook(ctx, endpoint) for endpoint in endpoints]}


@write_route("/webhooks", "POST", 201, WebhookCreatedOut)
@takes_body(WebhookIn, "the new endpoint")
def post_webhook(body):
    """Add an endpoint; the answer carries its signing secret, shown this once."""
    ctx = acting_context()
    endpoint, secret = webhooks.create_endpoint(ctx, body["url"], body.get("events", ()))
    return {**_webhook(ctx, endpoint), "secret": secret}


@read_route(f"/webhooks/{_ID}", WebhookOut)
def get_webhook(webhook_id):
    """One endpoint and where delivery to it stands."""
    ctx = read_context()
    return _webhook(ctx, _endpoint(ctx, webhook_id))


@write_route(f"/webhooks/{_ID}", "PATCH", 200, WebhookOut)
@takes_body(WebhookPatchIn, "what to change")
def patch_webhook(body, webhook_id):
    """Change an endpoint's URL or event filter; pause (`enabled: false`) or resume it."""
    return _changed(
        webhook_id,
        webhooks.update_endpoint,
        url=body.get("url"),
        event_types=body.get("events"),
        enabled=body.get("enabled"),
    )


@write_route(f"/webhooks/{_ID}", "DELETE", 204, errors=DELETE_ERRORS)
def delete_webhook(webhook_id):
    """Delete an endpoint: nothing more is sent to it."""
    ctx = acting_context()
    webhooks.delete_endpoint(ctx, _endpoint(ctx, webhook_id))


@write_route(f"/webhooks/{_ID}/replay", "POST", 200, WebhookOut)
@takes_body(ReplayIn, "the first event to deliver again")
def replay_webhook(body, webhook_id):
    """Deliver again, in order, every event from an id on (its dead letters too)."""
    return _changed(webhook_id, webhooks.replay, body["from_event"])


@read_route(f"/webhooks/{_ID}/dead-letters", DeadLettersOut)
def list_dead_letters(webhook_id):
    """The events the endpoint never accepted within the retry window, newest first."""
    ctx = read_context()
    return {"data": webhooks.dead_letters(ctx.session, _endpoint(ctx, webhook_id))}


def _endpoint(ctx, webhook_id: int):
    """The organization's endpoint with this id (another organization's is a 404)."""
    return webhooks.get_endpoint(ctx.session, ctx.org.id, webhook_id)


def _changed(webhook_id: int, operation, *args, **kwargs) -> dict:
    """Apply an operation to the organization's endpoint with this id; answer the endpoint."""
    ctx = acting_context()
    endpoint = _endpoint(ctx, webhook_id)
    operation(ctx, endpoint, *args, **kwargs)
    return _webhook(ctx, endpoint)


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
