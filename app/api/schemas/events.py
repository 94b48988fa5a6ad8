"""Schemas of /api/v1/events: its query and its page of events."""

from marshmallow import Schema, fields

from app.api.schemas.common import StrictSchema, page_after, page_limit


class EventsQuery(StrictSchema):
    """Query parameters of GET /api/v1/events."""

    # Event ids are BIGINTs: a cursor past 2**63 - 1 cannot name one (and overflows drivers).
    after = page_after(2**63 - 1, "return events after this id (the previous next_cursor)")
    limit = page_limit(100, "at most this many events")


class EventOut(Schema):
    """One event as consumers read it; `id` is the cursor and a stable idempotency key.

    Documents `rbac.wire.event_document`, which builds what is served and sent.
    """

    id = fields.Integer()
    type = fields.String()
    created_at = fields.DateTime(format="iso")
    data = fields.Dict()


class EventsPage(Schema):
    """A page of events and the cursor to resume from."""

    data = fields.List(fields.Nested(EventOut))
    next_cursor = fields.Integer(metadata={"description": "pass as `after` for the next page"})
    has_more = fields.Boolean()
