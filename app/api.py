"""The /api/v1 JSON API (org API keys, marshmallow at the edge): for now, the event stream."""

from flask import Blueprint, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import HTTPException

from app.db import get_session
from rbac.event_log import read_events
from rbac.tenancy import authenticate_api_key

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class EventsQuery(Schema):
    """Query parameters of GET /api/v1/events."""

    # Event ids are BIGINTs: a cursor past 2**63 - 1 cannot name one (and overflows drivers).
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class EventOut(Schema):
    """One event as consumers read it; `id` is the cursor and a stable idempotency key."""

    id = fields.Integer()
    type = fields.String()
    created_at = fields.DateTime(format="iso")
    data = fields.Dict()


def _error(status: int, code: str, message: str, details=None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), status


@bp.before_request
def authenticate():
    """Resolve the org API key (Authorization: Bearer rck_…) to its organization."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    session = get_session()
    org = authenticate_api_key(session, key.strip()) if scheme.lower() == "bearer" else None
    if org is None:
        response, status = _error(401, "unauthorized", "a valid API key is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="rolecall-api"'
        return response, status
    session.commit()  # last_used_at
    g.org = org


@bp.errorhandler(ValidationError)
def invalid_input(error: ValidationError):
    """Bad parameters are a 400 with the field messages."""
    return _error(400, "invalid_request", "the request parameters are invalid", error.messages)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Every HTTP error of the API is a JSON error."""
    return _error(error.code or 500, error.name.lower().replace(" ", "_"), error.description)


@bp.get("/events")
def list_events():
    """Return the organization's events after a cursor, oldest first (resumable, gap-safe)."""
    query = EventsQuery().load(request.args)
    events = read_events(get_session(), g.org.id, query["after"], query["limit"] + 1)
    page = events[: query["limit"]]
    return {
        "data": EventOut(many=True).dump(page),
        "next_cursor": page[-1].id if page else query["after"],
        "has_more": len(events) > len(page),
    }
