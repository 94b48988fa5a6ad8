"""/api/v1/events: the organization's events, a page at a time after a cursor.

Each event is `rbac.wire.event_document`, the document webhooks send too.
"""

from flask import g, jsonify

from app.api.boundary import QUERY, READ_ERRORS, bp
from app.api.schemas.events import EventsPage, EventsQuery
from rbac.event_log import read_events
from rbac.wire import event_document
from web.db import get_session


@bp.route("/events", methods=["GET"])
@bp.arguments(EventsQuery, **QUERY)
@bp.response(200, EventsPage)
@bp.alt_response(401, response=READ_ERRORS[401])
def list_events(query):
    """The organization's events after a cursor, oldest first (resumable, gap-safe).

    Event ids only grow; a page ends before any event whose transaction is still open, so
    resuming from `next_cursor` never skips one.
    """
    events = read_events(get_session(), g.org.id, query["after"], query["limit"] + 1)
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
