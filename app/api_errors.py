"""Every failure under /api/v1 becomes `{"error": {"code", "message", "details"}}`, here, once.

- Query parameters that do not parse or validate: 400 `invalid_parameters` (per-field details).
- A body that is not JSON: 400 `invalid_json`; JSON of the wrong shape: 422 `invalid_body`
  (per-field details).
- A missing, unknown or revoked key: 401 with a Bearer challenge (RFC 6750, section 3).
- Domain errors (`rbac.errors`), by type: `NotFound` 404 (another organization's objects
  included: they do not exist for the caller), `InvalidValue` and `InvalidMembers` 422,
  `Conflict` 409, `Refused` 409 (a safety rail, named in the message), `Forbidden` 403.
"""

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

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
