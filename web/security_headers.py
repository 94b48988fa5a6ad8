"""The security headers every answer carries: /admin's pages, the API's reference, SCIM, JSON.

One policy for the whole app, so that a new page or route cannot be served without it. The
Content Security Policy allows only this site's stylesheets and images and no script at all;
no page may be framed; answers are not cached (they hold the organization's data).

The Referer goes to this origin only, not nowhere: over HTTPS, Flask-WTF refuses a form whose
Referer is not this host's, and with no-referrer every form of /admin, the login included,
was refused.
"""

from flask import Flask

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def init_app(app: Flask) -> None:
    """Give every answer of the app the security headers (a view may set its own first)."""

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
