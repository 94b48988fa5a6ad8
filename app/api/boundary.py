"""The boundary of /api/v1: API keys, the `writes` transaction, idempotency, error mapping.

Every route module registers its routes on `bp` and uses what is here: `authenticate` turns
the bearer key into the organization and role it acts with; `read_route` and `write_route`
register a route with what it documents (`write_route` makes it a write through `writes`:
admin keys only, one commit, the Idempotency-Key honoured), `takes_body` hands a write its
JSON body; `read_context` and `acting_context` give the domain its context; `read_page` and
`page_body` read and answer a page of a list.
Routes translate and delegate: users and resources are found by `rbac.lookups` and
`rbac.resources` (scoped to the key's organization, so another organization's objects are
404 exactly as missing ones), questions are answered by `rbac.queries`.

Every failure under /api/v1 becomes `{"error": {"code", "message", "details"}}`, here, once:

- Query parameters that do not parse or validate: 400 `invalid_parameters` (per-field details).
- A body that is not JSON: 400 `invalid_json`; JSON of the wrong shape: 422 `invalid_body`
  (per-field details).
- A missing, unknown or revoked key: 401 with a Bearer challenge (RFC 6750, section 3).
- Domain errors (`rbac.errors`), by type: `NotFound` 404 (another organization's objects
  included: they do not exist for the caller), `InvalidValue` and `InvalidMembers` 422,
  `Conflict` 409, `Refused` 409 (a safety rail, named in the message), `Forbidden` 403.
"""

import functools
import hashlib
import json
import re

from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from rbac import idempotency
from rbac.context import Actor, Context
from rbac.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidMembers,
    InvalidValue,
    NeedsConfirmation,
    NotFound,
    Refused,
)
from rbac.listing import Page
from rbac.models import ApiKeyRole
from rbac.tenancy import authenticate_api_key
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


# Errors: translated once, for every route of the blueprint

CHALLENGE = 'Bearer realm="rolecall-api"'

# Most specific first: NeedsConfirmation is a Refused, UnknownRole an InvalidValue.
_DOMAIN_ERRORS: list[tuple[type[DomainError], int, str]] = [
    (NotFound, 404, "not_found"),
    (InvalidMembers, 422, "invalid_members"),
    (InvalidValue, 422, "invalid_value"),
    (Conflict, 409, "conflict"),
    (NeedsConfirmation, 409, "needs_confirmation"),
    (Refused, 409, "refused"),
    (Forbidden, 403, "forbidden"),
]


class ApiError(Exception):
    """An error the API itself raises (authentication, the shape of a request)."""

    def __init__(self, status: int, code: str, message: str, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


class ItemError(Exception):
    """A domain error of one item of a list request, with the item's position."""

    def __init__(self, index: int, error: DomainError):
        super().__init__(str(error))
        self.index, self.error = index, error


def error_response(status: int, code: str, message: str, details=None, headers=None):
    """Return the JSON error document as a response."""
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def unauthorized():
    """Return the 401 of a missing, unknown or revoked key (all alike: no key oracle)."""
    headers = {"WWW-Authenticate": CHALLENGE}
    return error_response(401, "unauthorized", "a valid API key is required", headers=headers)


def init_error_handlers(bp, app_hook) -> None:
    """Register the translations on the API blueprint (and routing errors on the app)."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(DomainError, domain_error_response)
    bp.register_error_handler(ItemError, _item_error)
    bp.register_error_handler(ValidationError, _invalid_body)
    bp.register_error_handler(HTTPException, _http_exception)
    app_hook(_register_routing_errors)


def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def _invalid_body(error: ValidationError):
    # Query parameters are validated by webargs (an HTTPException below); only bodies land here.
    details = error.normalized_messages()
    return error_response(422, "invalid_body", "the request body is invalid", details)


def domain_error_response(error: DomainError, details=None, prefix: str = ""):
    """Return the JSON error of a domain error: its status and code by type, its message."""
    for kind, status, code in _DOMAIN_ERRORS:
        if isinstance(error, kind):
            return error_response(status, code, prefix + str(error), details)
    raise error  # a DomainError this table does not know is a bug, not bad input


def _item_error(error: ItemError):
    return domain_error_response(error.error, {"index": error.index}, f"item {error.index}: ")


def _http_exception(error: HTTPException):
    status = error.code or 500
    # webargs (through flask-smorest's `arguments`) attaches the per-field messages.
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if messages is not None:
        # {"query": {"after": [...]}} → {"after": [...]}: one location per request here.
        details = next(iter(messages.values())) if len(messages) == 1 else messages
        return error_response(
            status, "invalid_parameters", "the request parameters are invalid", details
        )
    headers = dict(error.get_headers()) if status == 405 else {}
    headers.pop("Content-Type", None)
    code = error.name.lower().replace(" ", "_")
    return error_response(status, code, error.description or error.name, None, headers)


def _register_routing_errors(state) -> None:
    app: Flask = state.app
    prefix = state.url_prefix
    # Routing errors (unknown path, wrong method, body too large) are raised before the
    # blueprint is known, so only an app handler sees them. Flask keeps one app handler per
    # class: this one answers under /api/v1 and hands anything else to the one before it.
    previous = app.error_handler_spec[None][None].get(HTTPException)

    def handle(error: HTTPException):
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return _http_exception(error)
        return previous(error) if previous else error

    app.register_error_handler(HTTPException, handle)


# The blueprint and its key check

bp = ApiBlueprint(
    "api", __name__, url_prefix="/api/v1", description="The RBAC model of the key's organization"
)
init_error_handlers(bp, bp.record_once)

# Query parameters that fail are a 400 (as /events always answered); JSON bodies a 422.
QUERY = {"location": "query", "error_status_code": 400, "unknown": None}


# POST routes that only read: questions, not changes.
_READ_ONLY = {"api.check"}
# All a checker key may ask: an application that gates its own requests needs no more, and
# should not hold a key that reads every user and the whole log.
_QUESTIONS = {"api.check", "api.explain"}


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
    if key.role == ApiKeyRole.CHECKER and request.endpoint not in _QUESTIONS:
        raise ApiError(
            403, "forbidden", "this is a checker API key: it asks check and explain only"
        )


def writes(view):
    """Make a route a write: admin keys only, one commit, Idempotency-Key honoured.

    Sits above `bp.response`, so it sees the serialized answer: a successful one is kept
    with the key (in the same transaction) before the commit.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.api_key.role != ApiKeyRole.ADMIN:
            role = g.api_key.role.value
            raise ApiError(403, "forbidden", f"this is a {role} API key: it never writes")
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


def read_page(query: dict, read, *args, **filters) -> Page:
    """Read the page a list's query asks for: after its cursor (if it has one), up to its limit."""
    return read(*args, after=query.get("after"), limit=query["limit"], **filters)


def page_body(page: Page, dump, query: dict) -> dict:
    """A page as the API's page schemas: its items dumped; an empty one resumes where it was."""
    return {
        "data": [dump(item) for item in page.items],
        "next_cursor": page.next_cursor if page.items else query.get("after"),
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


# The errors routes document, by what they do: read the org itself (a key is all they need),
# read one object (with query parameters, which may not parse), list, delete, write.
KEY_ERRORS = {401: "UNAUTHORIZED"}
READ_ERRORS = {**KEY_ERRORS, 404: "NOT_FOUND"}
QUERIED_ERRORS = {**READ_ERRORS, 400: "BAD_REQUEST"}
LIST_ERRORS = {**KEY_ERRORS, 400: "BAD_REQUEST"}
DELETE_ERRORS = {**KEY_ERRORS, 403: "FORBIDDEN", 404: "NOT_FOUND"}
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


# Routes: what a read or a write route documents and does, in one place


def read_route(rule: str, schema, *, query=None, errors=READ_ERRORS):
    """Register a GET route answering `schema`, its query parameters read with `query`."""

    def register(view):
        view = bp.response(200, schema)(documented_errors(errors)(view))
        if query is not None:
            view = bp.arguments(query, **QUERY)(view)
        return bp.route(rule, methods=["GET"])(view)

    return register


def write_route(
    rule: str,
    method: str,
    status: int,
    schema=None,
    *,
    query=None,
    existed: str | None = None,
    errors=WRITE_ERRORS,
):
    """Register a write (`writes`) answering `status` with `schema`.

    `existed` says what the 200 of an idempotent create is: the identical object, which
    already existed.
    """

    def register(view):
        view = documented_errors(errors)(view)
        if existed is not None:
            view = bp.alt_response(200, schema=schema, description=existed)(view)
        view = bp.response(status, schema)(view)
        if query is not None:
            view = bp.arguments(query, **QUERY)(view)
        return bp.route(rule, methods=[method])(writes(view))

    return register


def takes_body(schema, description: str):
    """Hand the view the JSON body, read with this schema (`load_body`), and document it."""
    content = {"application/json": {"schema": schema}}
    document = bp.doc(
        requestBody={"required": True, "description": description, "content": content}
    )

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            return view(load_body(schema), *args, **kwargs)

        return document(wrapper)

    return decorator
