"""The /api/v1 JSON API: org API keys acting with a role, marshmallow at the edge, OpenAPI 3.

Routes translate and delegate: users and resources are found by `rbac.admin.principals` and
`rbac.resources` (scoped to the key's organization, so another organization's objects are
404 exactly as missing ones), questions are answered by `rbac.queries`, and every error is
translated once, in app/api_errors.py.
"""

import functools
import hashlib
import json
import re

from flask import current_app, g, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

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
from rbac import idempotency, queries
from rbac.context import Actor, Context
from rbac.errors import DomainError
from rbac.event_log import read_events
from rbac.listing import Page
from rbac.lookups import find_group, find_user
from rbac.models import ApiKeyRole
from rbac.resources import find_resource
from rbac.tenancy import authenticate_api_key
from rbac.wire import event_document
from web.db import get_catalog, get_session, use_read_session
from web.request_body import read_body

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Retrying a write with the same key (1 to 255 visible ASCII characters) "
    "answers what the first one answered, for 24 hours, with `Idempotent-Replayed: true`; "
    "the same key with another request is a 422.",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
}


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint, also documenting the Idempotency-Key header of writes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # flask-smorest's extension point: callbacks after the first append parameters.
        self._prepare_doc_cbks.append(self._prepare_idempotency_doc)

    @staticmethod
    def _prepare_idempotency_doc(doc, doc_info, **kwargs):
        if doc_info.get("idempotent"):
            doc.setdefault("parameters", []).append(_IDEMPOTENCY_HEADER)
        return doc


bp = ApiBlueprint(
    "api", __name__, url_prefix="/api/v1", description="The RBAC model of the key's organization"
)
init_error_handlers(bp, bp.record_once)

# Query parameters that fail are a 400 (as /events always answered); JSON bodies a 422.
QUERY = {"location": "query", "error_status_code": 400, "unknown": None}
_ERRORS = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 422: "UNPROCESSABLE_ENTITY"}


# POST routes that only read: questions, not changes.
_READ_ONLY = {"api.check"}


@bp.before_request
def authenticate():
    """Resolve the API key (Authorization: Bearer rck_…) to its organization and role."""
    scheme, _, plaintext = request.headers.get("Authorization", "").partition(" ")
    session = (
        use_read_session()
        if request.endpoint in _READ_ONLY or request.method == "GET"
        else get_session()
    )
    key = authenticate_api_key(session, plaintext.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        return unauthorized()
    if session.dirty:  # last_used_at, written at most once a minute
        session.commit()
    g.api_key, g.org = key, key.organization


def writes(view):
    """Make a route a write: admin keys only, one commit, Idempotency-Key honoured.

    Sits above `bp.response`, so it sees the serialized answer: a successful one is kept
    with the key (in the same transaction) before the commit.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.api_key.role != ApiKeyRole.ADMIN:
            raise ApiError(
                403, "forbidden", "this is a viewer API key: it reads and checks, never writes"
            )
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return _write(view, args, kwargs)
        if not IDEMPOTENCY_KEY.fullmatch(key):
            message = "an Idempotency-Key has 1 to 255 visible ASCII characters"
            raise ApiError(400, "invalid_idempotency_key", message)
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), read_body()])
        ).hexdigest()
        session = get_session()
        if kept := idempotency.find_answer(session, g.api_key.id, key):
            return _replay(kept, fingerprint)
        try:
            return _write(view, args, kwargs, (key, fingerprint))
        except Exception:
            # A copy of this request sent at the same time may have won: answer as it did.
            session.rollback()
            if kept := idempotency.find_answer(session, g.api_key.id, key):
                return _replay(kept, fingerprint)
            raise

    wrapper._apidoc = {**getattr(view, "_apidoc", {}), "idempotent": True}
    return wrapper


def _write(view, args, kwargs, keep: tuple[str, str] | None = None):
    """Run a write view, keep its answer under an Idempotency-Key if given, and commit."""
    session = get_session()
    try:
        response = view(*args, **kwargs)
        if keep is not None and response.status_code < 300:
            body = response.get_data(as_text=True)
            idempotency.keep_answer(session, g.api_key.id, *keep, response.status_code, body)
        session.commit()
    except IntegrityError:  # a concurrent request wrote the same row first
        session.rollback()
        message = "a concurrent request changed the same objects: send this one again"
        raise ApiError(409, "conflict", message) from None
    return response


def _replay(kept, fingerprint: str):
    if kept.fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for another request: use a new key",
        )
    response = current_app.response_class(kept.body, kept.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def page_body(page: Page, dump, after=None) -> dict:
    """A page as the API's page schemas: its items dumped; an empty one resumes where it was."""
    return {
        "data": [dump(item) for item in page.items],
        "next_cursor": page.next_cursor if page.items else after,
        "has_more": page.has_more,
    }


def read_context() -> Context:
    """The context of a read: the key's organization (any key may read)."""
    return Context(get_session(), get_catalog(), g.org)


def acting_context() -> Context:
    """The context of a write: the key's organization, acted on by the key (named in events).

    An admin key may do what an org Admin may, and no more: the engine checks each action
    against that role (only an Owner gives the Owner role); `writes` turns viewer keys away.
    """
    actor = Actor(f"apikey:{g.api_key.id}", org_role=g.api_key.role)
    return Context(get_session(), get_catalog(), g.org, actor)


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
    # Served as built (EventsPage documents it): each event is the domain's wire document,
    # the very one webhooks send.
    return jsonify(
        {
            "data": [event_document(event) for event in page],
            "next_cursor": page[-1].id if page else query["after"],
            "has_more": len(events) > len(page),
        }
    )


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
from app import api_directory, api_model, api_org, api_webhooks  # noqa: E402,F401
