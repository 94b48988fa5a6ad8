"""The privilege matrix of /admin, generated from the URL map: lesser roles change nothing.

An org Viewer and an asset's Admin, each logged in with a valid CSRF token, send every POST
route of /admin (paths filled with real objects) and read every page. Neither ever gets a
5xx; the Viewer reads no page of membership, directories, settings or webhooks, and no POST
of either changes a row or writes an event, but the asset Admin's own asset's.
"""

import pytest

from app.admin import PUBLIC_ENDPOINTS
from tests.admin.test_admin_csrf import _fingerprint
from tests.conftest import Browser, create_admin

ADMIN_ONLY_PAGES = {
    "admin.users",
    "admin.user",
    "admin.groups",
    "admin.group",
    "admin.directories",
    "admin.directory",
    "admin.org_settings",
    "admin.webhooks_page",
    "admin.webhook",
}


@pytest.fixture
def lesser(world, app, routes):
    """Browsers logged in as vic (org Viewer) and asa (Admin of asset web/bot only)."""
    browsers = {}
    for email, grants in (
        ("vic@example.com", []),
        ("asa@example.com", [("admin", "asset:web/bot")]),
    ):
        create_admin(app, email=email, role="admin")
        world.ok("revoke", "--org", "acme", "--user", email, "--role", "admin", "org")
        for role, resource in grants:
            world.ok("grant", "--org", "acme", "--user", email, "--role", role, resource)
        browser = Browser(app.test_client())
        assert browser.log_in(email).status_code == 303
        browsers[email.partition("@")[0]] = browser
    return browsers


def test_a_viewer_reads_no_admin_page_and_changes_nothing(routes, lesser, app):
    """Every page: 200, 403 or 404, never 5xx, admin pages 403; every POST changes nothing."""
    vic = lesser["vic"]
    for rule, path in routes:
        if "GET" in rule.methods and rule.endpoint not in PUBLIC_ENDPOINTS:
            status = vic.get(path).status_code
            assert status in (200, 302, 303, 403, 404), (path, status)
            if rule.endpoint in ADMIN_ONLY_PAGES:
                assert status == 403, (path, status)
    _posts_change_nothing(vic, routes, app)


def test_an_asset_admin_changes_nothing_beyond_the_asset(routes, lesser, app):
    """Asa may manage access to web/bot: every POST elsewhere changes nothing."""
    asa = lesser["asa"]
    elsewhere = [(rule, path) for rule, path in routes if "/assets/bot" not in path]
    for rule, path in elsewhere:
        if "GET" in rule.methods and rule.endpoint not in PUBLIC_ENDPOINTS:
            status = asa.get(path).status_code
            assert status in (200, 302, 303, 403, 404), (path, status)
    _posts_change_nothing(asa, elsewhere, app)
    page = asa.get("/admin/projects/web/assets/bot")
    assert page.status_code == 200  # their own asset: they manage its access


def _posts_change_nothing(browser, routes, app) -> None:
    """Send every POST route with a valid token and plausible fields; assert no change."""
    before = _fingerprint(app)
    browser.get("/admin/")
    fields = {
        "role": "owner",
        "resource": "org",
        "holder": "alice",
        "kind": "user",
        "members": "alice",
        "name": "x",
        "slug": "x",
        "url": "https://hooks.example/x",
        "from_event": "1",
        "default_role": "owner",
        "group_roles": "off",
        "back": "/admin/",
    }
    for rule, path in routes:
        if "POST" not in rule.methods or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        answer = browser.post(path, fields)
        assert answer.status_code < 500, (path, answer.status_code)
        assert _fingerprint(app) == before, path
