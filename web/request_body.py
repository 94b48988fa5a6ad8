"""Request bodies: the size limit enforced on every body, and a 413 the client can read.

Werkzeug refuses a Content-Length over MAX_CONTENT_LENGTH before reading the body; the
server then closes the connection on unread bytes, the kernel resets it, and the client
sees a broken pipe instead of the 413. A refused body is therefore read and discarded, up
to DRAIN_LIMIT bytes, before the answer. A chunked body (no Content-Length) is cut at the
limit by werkzeug without an error; `read_body` turns that cut into the 413 it is.
"""

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

# Reading and discarding 16 MiB costs milliseconds; a larger refused body is not read.
DRAIN_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024


def init_app(app: Flask) -> None:
    """Drain refused bodies after every 413 the app answers."""
    app.after_request(drain_refused_body)


def read_body() -> bytes:
    """Return the request body, or raise 413 if it is over MAX_CONTENT_LENGTH (chunked too)."""
    body = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge()
    return body


def drain_refused_body(response: Response) -> Response:
    """After a 413, read what is left of the body (bounded) so the client can read the answer."""
    if response.status_code != 413:
        return response
    length = request.content_length
    if length is not None and length > DRAIN_LIMIT:
        response.headers["Connection"] = "close"
        return response
    stream = request.environ.get("wsgi.input")
    remaining = DRAIN_LIMIT if length is None else length
    try:
        while remaining > 0 and (chunk := stream.read(min(_CHUNK, remaining))):
            remaining -= len(chunk)
    except (OSError, ValueError):
        pass  # the client went away: there is nobody left to answer
    response.headers["Connection"] = "close"
    return response
