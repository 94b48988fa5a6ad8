"""Every form of /admin refuses a forged POST: the CSRF matrix, generated from the URL map.

Each POST route, its path filled with real objects, gets every kind of bad token a forger can
send: none, empty, garbage, another browser's (a valid token of another session), and the
right one altered. Each is a 400 that changes nothing: not the tables, not the event stream.
"""

from sqlalchemy import func, select

from rbac.models import AdminSession, Event, Grant, GroupAssignment, User, WebhookEndpoint
from tests.conftest import Browser
from web.db import get_session


def test_every_post_route_refuses_every_forged_token(routes, admin, app, client):
    """No POST of /admin acts on a missing, foreign or altered CSRF token."""
    posts = [(rule, path) for rule, path in routes if "POST" in rule.methods]
    assert len(posts) >= 30
    other = Browser(app.test_client())
    other.get("/admin/login")  # a stranger's own valid token, for their own session
    admin.get("/admin/")
    right = admin.token
    altered = right[:-2] + ("AA" if not right.endswith("AA") else "BB")
    variants = [None, "", "x", "a" * 200, other.token, altered, right + "."]
    before = _fingerprint(app)
    for _, path in posts:
        for variant in variants:
            data = {} if variant is None else {"csrf_token": variant}
            answer = admin.client.post(path, data={**data, "back": "/admin/"})
            assert answer.status_code == 400, (path, variant, answer.status_code)
    assert _fingerprint(app) == before
    assert admin.get("/admin/").status_code == 200  # still logged in: nothing logged out


def _fingerprint(app) -> dict:
    """How many rows the tables a forged POST could change hold, and the last event."""
    with app.app_context():
        session = get_session()
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (User, Grant, GroupAssignment, WebhookEndpoint, AdminSession)
        }
        return {**counts, "last_event": session.scalar(select(func.max(Event.id)))}
