"""Every failure under /scim/v2 becomes a SCIM Error document, translated here once."""

from flask import Flask, g, request
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidValueException,
    NotFoundException,
    SCIMException,
    UniquenessException,
)
from werkzeug.exceptions import HTTPException

from rbac.errors import Conflict, InvalidMembers, InvalidValue, NotFound

SCIM_MEDIA_TYPE = "application/scim+json"


def error_response(error: Error, headers: dict | None = None):
    """Return a SCIM Error document as a Flask response tuple (its detail goes to the journal)."""
    g.error_detail = error.detail
    body = error.model_dump(scim_ctx=Context.DEFAULT)
    return body, int(error.status), {"Content-Type": SCIM_MEDIA_TYPE, **(headers or {})}


def unauthorized(detail: str):
    """Return a 401 with the Bearer challenge RFC 6750 asks for."""
    headers = {"WWW-Authenticate": 'Bearer realm="rolecall"'}
    return error_response(Error(status=401, detail=detail), headers)


def init_error_handlers(bp, app_hook) -> None:
    """Register the translations on the SCIM blueprint (and routing errors on the app)."""
    bp.register_error_handler(SCIMException, _scim_exception)
    bp.register_error_handler(ValidationError, _validation_error)
    bp.register_error_handler(NotFound, lambda e: _scim_exception(NotFoundException(detail=str(e))))
    bp.register_error_handler(
        Conflict, lambda e: _scim_exception(UniquenessException(detail=str(e)))
    )
    bp.register_error_handler(
        InvalidMembers, lambda e: _scim_exception(InvalidValueException(detail=str(e)))
    )
    bp.register_error_handler(
        InvalidValue, lambda e: _scim_exception(InvalidValueException(detail=str(e)))
    )
    bp.register_error_handler(HTTPException, _http_exception)
    app_hook(_register_routing_errors)


def _register_routing_errors(state) -> None:
    app: Flask = state.app
    prefix = state.url_prefix

    # Routing errors (unknown path, wrong method, body too large) are raised before the
    # blueprint is known, so only an app handler sees them; it answers SCIM under the prefix.
    def handle(error: HTTPException):
        if request.path.startswith(prefix):
            return _http_exception(error)
        return error

    app.register_error_handler(HTTPException, handle)


def _scim_exception(exception: SCIMException):
    return error_response(exception.to_error())


def _validation_error(error: ValidationError):
    return error_response(Error.from_validation_error(error.errors()[0]))


def _http_exception(error: HTTPException):
    if error.code == 413:
        scim_error = Error(status=413, scim_type="tooLarge", detail="the request body is too large")
    else:
        scim_error = Error(status=error.code or 500, detail=error.description)
    headers = dict(error.get_headers()) if error.code == 405 else {}
    headers.pop("Content-Type", None)
    return error_response(scim_error, headers)
