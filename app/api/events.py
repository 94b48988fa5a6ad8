"""/api/v1/events: the organization's events, a page at a time after a cursor.

Each event is `rbac.wire.event_document`, the document webhooks send too.
"""

from flask import jsonify

from app.api.boundary import QUERY, READ_ERRORS, acting_context, bp
from app.api.schemas.events import EventsPage, EventsQuery
from rbac.audit import audit_scope, read_feed
from rbac.wire import event_document


@bp.route("/events", methods=["GET"])
@bp.arguments(EventsQuery, **QUERY)
@bp.response(200, EventsPage)
@bp.alt_response(401, response=READ_ERRORS[401])
def list_events(query):
    """The organization's events after a cursor, oldest first (resumable, gap-safe).

    Event ids only grow; a page ends before any event whose transaction is still open, so
    resuming from `next_cursor` never skips one. A key reads what its role covers, as the
    audit log shows an admin: an admin key every event; a viewer key the events about
    projects, assets and access, without the group an access came through (group membership
    is for admins).
    """
    ctx = acting_context()
    events = read_feed(ctx, audit_scope(ctx), query["after"], query["limit"] + 1)
    page = events[: query["limit"]]
    # Served as built (EventsPage documents it): each event is the domain's wire document,
    # the very one webhooks send.
    return jsonify(
        {
            "data": [event_document(event) for event in page],
            "next_cursor": page[-1].id if page else query["after"],
            "has_more": len(events) > len(page),
        }
    )
