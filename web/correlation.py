"""The request's correlation id: logged, journaled and echoed as X-Request-Id."""

import re
import uuid

from flask import g, request

from rbac.tenancy import API_KEY_PREFIX, TOKEN_PREFIX
from rbac.webhooks import SECRET_PREFIX

# IdPs send their own request ids; Entra's is client-request-id.
CORRELATION_HEADERS = ("X-Request-Id", "client-request-id", "X-Correlation-Id")
# A client's request id is kept if it is this plain; secrets' prefixes never are.
CLIENT_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,64}")
SECRET_PREFIXES = (TOKEN_PREFIX, API_KEY_PREFIX, SECRET_PREFIX)


def correlation_id() -> str:
    """Return the request's correlation id: the client's if it is a plain id, else a new one.

    A client that puts a secret there (its token, by mistake) gets a fresh id: the id is
    logged, journaled and echoed, and a secret must be none of those.
    """
    if "correlation_id" not in g:
        incoming = next(
            (request.headers[h] for h in CORRELATION_HEADERS if h in request.headers), ""
        )
        plain = CLIENT_ID.fullmatch(incoming) and not incoming.startswith(SECRET_PREFIXES)
        g.correlation_id = incoming if plain else uuid.uuid4().hex
    return g.correlation_id
