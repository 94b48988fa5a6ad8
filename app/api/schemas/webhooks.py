"""Marshmallow schemas of /api/v1/webhooks: endpoints, their delivery state, dead letters."""

from marshmallow import Schema, fields, validate

from app.api.schemas.common import (
    StrictSchema,
    at_least_one,
    page_after,
    page_limit,
    page_schema,
    storable,
)

_EVENTS = fields.List(
    fields.String(validate=[validate.Length(min=1, max=100), storable]),
    validate=validate.Length(max=50),
    metadata={"description": "event types or families (`access.*`, `dsync.user.*`); [] is all"},
)


class WebhookIn(StrictSchema):
    """A new webhook endpoint: where to POST, and which events."""

    url = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=2048), storable],
        metadata={"description": "http:// or https:// URL receiving the signed POSTs"},
    )
    events = _EVENTS


class WebhookPatchIn(StrictSchema):
    """A change of an endpoint: any of its URL, event filter and enabled state."""

    url = fields.String(validate=[validate.Length(min=1, max=2048), storable])
    events = _EVENTS
    enabled = fields.Boolean(metadata={"description": "false pauses delivery; true resumes it"})
    _not_empty = at_least_one("name url, events, enabled or several")


class SecretRotationIn(StrictSchema):
    """A secret's rotation: how long the old secret keeps signing beside the new one."""

    overlap_hours = fields.Float(
        load_default=24.0,
        validate=validate.Range(min=0, max=720),
        metadata={"description": "hours both secrets sign each delivery (0: the old stops now)"},
    )


class ReplayIn(StrictSchema):
    """Where a replay starts."""

    from_event = fields.Integer(
        required=True,
        data_key="from",
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "deliver again every event from this id on, in order"},
    )


class WebhookOut(Schema):
    """An endpoint and where delivery to it stands (never its secret)."""

    id = fields.Integer()
    url = fields.String(
        metadata={"description": "where it POSTs (a viewer key: the query `redacted`)"}
    )
    events = fields.List(fields.String(), attribute="event_types")
    enabled = fields.Boolean()
    created_at = fields.DateTime(format="iso")
    created_by = fields.String()
    cursor = fields.Integer(metadata={"description": "the last event id done with"})
    backlog = fields.Integer(
        metadata={"description": "events after the cursor, counted up to 10 000"}
    )
    delivered = fields.Integer()
    failed_attempts = fields.Integer()
    dead = fields.Integer(metadata={"description": "events given up on (dead letters)"})
    attempts = fields.Integer(metadata={"description": "failures of the event at the head"})
    next_attempt_at = fields.DateTime(format="iso", allow_none=True)
    last_error = fields.String(allow_none=True)
    last_success_at = fields.DateTime(format="iso", allow_none=True)


class WebhookCreatedOut(WebhookOut):
    """A new endpoint, with its signing secret: shown this once."""

    secret = fields.String(metadata={"description": "whsec_…: verify signatures with it"})


class WebhooksQuery(StrictSchema):
    """A page of endpoints: those whose id is above `after`, at most `limit` of them."""

    after = page_after(2**31 - 1, "return endpoints after this id (the previous next_cursor)")
    limit = page_limit(50, "at most this many endpoints")


WebhooksPage = page_schema(WebhookOut, "WebhooksPage")


class DeadLetterOut(Schema):
    """An event an endpoint never accepted within the retry window."""

    event_id = fields.Integer()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    died_at = fields.DateTime(format="iso")
    replayed_at = fields.DateTime(format="iso", allow_none=True)


class DeadLettersOut(Schema):
    """An endpoint's dead letters, newest first."""

    data = fields.List(fields.Nested(DeadLetterOut))
