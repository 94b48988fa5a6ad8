"""/api/v1/webhooks: an organization's webhook endpoints (rbac.webhooks), as the CLI has them.

An admin key manages them; any key reads them (never their secrets: a new endpoint's secret
is in the answer that creates it, once), a viewer key without the URL's query, where
receivers keep capability tokens. Another organization's endpoint is a 404.
"""

from datetime import timedelta

from app.api.boundary import (
    DELETE_ERRORS,
    LIST_ERRORS,
    acting_context,
    page_body,
    read_page,
    read_route,
    takes_body,
    write_route,
)
from app.api.schemas.webhooks import (
    DeadLettersOut,
    ReplayIn,
    SecretRotationIn,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatchIn,
    WebhooksPage,
    WebhooksQuery,
)
from rbac import webhooks

_MAX_ID = 2**31 - 1
_ID = f"<int(max={_MAX_ID}):webhook_id>"


@read_route("/webhooks", WebhooksPage, query=WebhooksQuery, errors=LIST_ERRORS)
def list_webhooks(query):
    """The organization's endpoints, oldest first, a page at a time, with their delivery."""
    ctx = acting_context()
    page = read_page(query, webhooks.endpoints_page, ctx.session, ctx.org.id)
    shown = webhooks.url_reader(ctx)
    return page_body(page, lambda endpoint: _webhook(ctx, endpoint, shown), query)


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
    ctx = acting_context()
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


@write_route(f"/webhooks/{_ID}/rotate-secret", "POST", 200, WebhookCreatedOut)
@takes_body(SecretRotationIn, "how long the old secret keeps signing")
def rotate_webhook_secret(body, webhook_id):
    """Give the endpoint a new signing secret, answered this once.

    The old one signs beside it until the overlap ends (Standard Webhooks: one `v1,`
    signature per secret), so the receiver switches when it likes.
    """
    ctx = acting_context()
    endpoint = _endpoint(ctx, webhook_id)
    overlap = timedelta(hours=body["overlap_hours"])
    secret = webhooks.rotate_secret(ctx, endpoint, overlap)
    return {**_webhook(ctx, endpoint), "secret": secret}


@read_route(f"/webhooks/{_ID}/dead-letters", DeadLettersOut)
def list_dead_letters(webhook_id):
    """The events the endpoint never accepted within the retry window, newest first."""
    ctx = acting_context()
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


def _webhook(ctx, endpoint, shown=None) -> dict:
    """An endpoint as WebhookOut dumps it: its columns, its backlog, its URL as the key sees it."""
    shown = shown or webhooks.url_reader(ctx)
    return {
        **{column: getattr(endpoint, column) for column in _COLUMNS},
        "url": shown(endpoint),
        "backlog": webhooks.backlog(ctx.session, endpoint),
    }


# Every WebhookOut field but the URL and backlog is a column of the endpoint (by its attribute).
_COLUMNS = tuple(
    field.attribute or name
    for name, field in WebhookOut().fields.items()
    if name not in ("url", "backlog")
)
