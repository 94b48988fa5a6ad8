"""Absolute URLs of the app's own endpoints, built from ROLECALL_PUBLIC_URL when it is set.

Without it, a URL is built from the request's Host header, which a client chooses: fine on
a developer's machine, not in production (docs/security.md). No URL built here is ever
stored; what is stored is ids, and URLs are derived from them on the way out.
"""

from flask import current_app, request, url_for


def external_url(endpoint: str, **values) -> str:
    """Return the absolute URL of an endpoint, on the public base URL when one is configured."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values).removeprefix(request.script_root)
    return base.rstrip("/") + path


def scim_base_url() -> str:
    """Return the SCIM base URL an IdP is given (on the public base URL when configured)."""
    return external_url("scim.get_service_provider_config").rsplit("/", 1)[0]
