"""The /api/v1 JSON API: org API keys acting with a role, marshmallow at the edge, OpenAPI 3.

Routes translate and delegate: users and resources are found by `rbac.admin.principals` and
`rbac.resources` (scoped to the key's organization, so another organization's objects are
404 exactly as missing ones), questions are answered by `rbac.queries`, and every error is
translated once, in app/api_errors.py.
"""

import functools
import json

from flask import g, request
from flask_smorest import Blueprint

from app.api_errors import ApiError, ItemError, init_error_handlers, unauthorized
from app.api_reference import init_api
from app.api_schemas import (
    MAX_CHECKS,
    CheckIn,
    CheckListOut,
    CheckOut,
    EventsPage,
    EventsQuery,
    ExplainOut,
    ExplainQuery,
    GroupGrantsOut,
)
from app.db import get_catalog, get_session
from app.request_body import read_body
from rbac import queries
from rbac.context import Actor, Context
from rbac.errors import DomainError
from rbac.event_log import read_events
from rbac.lookups import find_group, find_user
from rbac.models import ApiKeyRole
from rbac.resources import find_resource
from rbac.tenancy import authenticate_api_key

bp = Blueprint(
    "api", __name__, url_prefix="/api/v1", description="The RBAC model of the key's organization"
)
init_error_handlers(bp, bp.record_once)

# Query parameters that fail are a 400 (as /events always answered); JSON bodies a 422.
QUERY = {"location": "query", "error_status_code": 400, "unknown": None}
_ERRORS = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"}


@bp.before_request
def authenticate():
    """Resolve the API key (Authorization: Bearer rck_…) to its organization and role."""
    scheme, _, plaintext = request.headers.get("Authorization", "").partition(" ")
    session = get_session()
    key = authenticate_api_key(session, plaintext.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        return unauthorized()
    if session.dirty:  # last_used_at, written at most once a minute
        session.commit()
    g.api_key, g.org = key, key.organization


def require_role(role: ApiKeyRole):
    """Let a route be called only by keys with this role (admin keys may do what viewers do)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if role == ApiKeyRole.ADMIN and g.api_key.role != ApiKeyRole.ADMIN:
                raise ApiError(
                    403, "forbidden", "this is a viewer API key: it reads and checks, never writes"
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator


def read_context() -> Context:
    """The context of a read: the key's organization (any key may read)."""
    return Context(get_session(), get_catalog(), g.org)


def acting_context() -> Context:
    """The context of a write: the key's organization, acted on by the key (named in events).

    An admin key may do what an org admin may (require_role(ApiKeyRole.ADMIN) guards the
    route); the engine does not check a key's actions against a user's roles.
    """
    return Context(get_session(), get_catalog(), g.org, Actor(f"apikey:{g.api_key.id}"))


READ_ERRORS = {401: "UNAUTHORIZED", 404: "NOT_FOUND"}
WRITE_ERRORS = {
    **READ_ERRORS,
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    409: "CONFLICT",
    422: "UNPROCESSABLE_ENTITY",
}


def documented_errors(statuses: dict):
    """Document these error responses on a route."""

    def decorator(view):
        for status, name in statuses.items():
            view = bp.alt_response(status, response=name)(view)
        return view

    return decorator


def documented_body(schema, description: str):
    """Document a JSON request body (read by `load_body`: any Content-Type, 422 per field)."""
    content = {"application/json": {"schema": schema}}
    return bp.doc(requestBody={"required": True, "description": description, "content": content})


def load_body(schema) -> dict:
    """Read the JSON body with this schema: 400 if not JSON, 422 per field if ill-shaped."""
    body = json_body()
    if not isinstance(body, dict):
        message = "the body is a JSON object"
        raise ApiError(422, "invalid_body", message, {"_schema": [message]})
    return schema().load(body)


def json_body():
    """Decode the request body as JSON (any Content-Type), or raise a 400 that says why."""
    try:
        return json.loads(read_body() or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None


@bp.route("/events", methods=["GET"])
@bp.arguments(EventsQuery, **QUERY)
@bp.response(200, EventsPage)
@bp.alt_response(401, response=_ERRORS[401])
def list_events(query):
    """The organization's events after a cursor, oldest first (resumable, gap-safe).

    Event ids only grow; a page ends before any event whose transaction is still open, so
    resuming from `next_cursor` never skips one.
    """
    events = read_events(get_session(), g.org.id, query["after"], query["limit"] + 1)
    page = events[: query["limit"]]
    return {
        "data": page,
        "next_cursor": page[-1].id if page else query["after"],
        "has_more": len(events) > len(page),
    }


_CHECK_BODY = {
    "oneOf": [
        CheckIn,
        {"type": "array", "items": CheckIn, "minItems": 1, "maxItems": MAX_CHECKS},
    ]
}
_CHECK_ANSWER = {"oneOf": [CheckOut, CheckListOut]}
# Built once: check is the hot route, and building a schema costs as much as using it.
_CHECK_IN, _CHECK_LIST_IN = CheckIn(), CheckIn(many=True)
_CHECK_OUT, _CHECK_LIST_OUT = CheckOut(), CheckListOut()


@bp.route("/check", methods=["POST"])
@bp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": _CHECK_BODY}}},
    responses={
        "200": {
            "description": "a CheckOut for one question; CheckListOut, in order, for a list",
            "content": {"application/json": {"schema": _CHECK_ANSWER}},
        },
        "400": {"$ref": "#/components/responses/BAD_REQUEST"},
        "404": {"$ref": "#/components/responses/NOT_FOUND"},
        "422": {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"},
    },
)
@bp.alt_response(401, response=_ERRORS[401])
def check():
    """May a user use a permission on a resource? One question, or a list of up to 100.

    An unknown user or resource is a 404 (another organization's too); an unknown permission,
    a malformed resource address or a userName held by several users is a 422. In a list, the
    first failing item fails the request; `details.index` names it.
    """
    body = json_body()
    if isinstance(body, list):
        questions = _CHECK_LIST_IN.load(body) if len(body) <= MAX_CHECKS else None
        if not body or questions is None:
            message = f"a list of checks holds 1 to {MAX_CHECKS} questions"
            raise ApiError(422, "invalid_body", message, {"_schema": [message]})
        results = []
        for index, question in enumerate(questions):
            try:
                results.append(_decide(question))
            except DomainError as error:
                raise ItemError(index, error) from error
        return _CHECK_LIST_OUT.dump({"results": results})
    if not isinstance(body, dict):
        message = "the body is a check object or a list of them"
        raise ApiError(422, "invalid_body", message, {"_schema": [message]})
    return _CHECK_OUT.dump(_decide(_CHECK_IN.load(body)))


def _decide(question: dict) -> queries.Decision:
    ctx = read_context()
    user, permission, address = question["user"], question["permission"], question["resource"]
    return queries.check_named(ctx.session, ctx.catalog, ctx.org, user, permission, address)


@bp.route("/explain", methods=["GET"])
@bp.arguments(ExplainQuery, **QUERY)
@bp.response(200, ExplainOut)
@bp.alt_response(401, response=_ERRORS[401])
@bp.alt_response(404, response=_ERRORS[404])
@bp.alt_response(422, response=_ERRORS[422])
def explain(query):
    """Every source of a user's role on a resource, the winner, and the workforce rule.

    The same document as `rolecall explain --json`.
    """
    ctx = read_context()
    user = find_user(ctx.session, ctx.org, query["user"])
    resource = find_resource(ctx.session, ctx.org, query["resource"])
    return queries.explain_document(ctx, user, resource)


@bp.route("/groups/<group_id>/grants", methods=["GET"])
@bp.response(200, GroupGrantsOut)
@bp.alt_response(401, response=_ERRORS[401])
@bp.alt_response(404, response=_ERRORS[404])
def group_grants(group_id):
    """Everything a group grants (its own and its parent groups' roles) and to whom.

    The group is named by its id (a displayName or local slug works too, when unique).
    """
    ctx = read_context()
    return queries.explain_group(ctx, find_group(ctx.session, ctx.org, group_id))


def init_app(app) -> None:
    """Register /api/v1, its OpenAPI document and its reference page on the app."""
    init_api(app, bp)


# The routes of the RBAC model and of the directory register themselves on `bp`.
from app import api_directory, api_model  # noqa: E402,F401
