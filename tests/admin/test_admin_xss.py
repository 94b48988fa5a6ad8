"""The stored-XSS crawl: hostile strings in every field an IdP sends, then every page read.

Generated from the URL map, as the other matrices of /admin: users and groups are provisioned
over SCIM with markup in each string attribute, then every GET page, its path filled with
those very objects, is read as an Owner. No page may carry the markup unescaped.
"""

import pytest

from app.admin import PUBLIC_ENDPOINTS

MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>",
    "javascript:alert(4)",
]
# What a page would carry had it not escaped them: a tag, or a link that runs script.
UNESCAPED = ["<script>alert", "<img src=x onerror", "<svg onload", 'href="javascript:']


def _hostile(n: int) -> str:
    return MARKUP[n % len(MARKUP)] + f"#{n}"


@pytest.fixture
def hostile_world(world, admin, app):
    """An IdP user and group with markup in every string they carry; the paths to show them."""
    user = world.scim.create_user(
        _hostile(0) + "@example.com",
        displayName=_hostile(1),
        name={"givenName": _hostile(2), "familyName": _hostile(3), "formatted": _hostile(4)},
        emails=[{"value": "ann@example.com", "type": "work", "primary": True}],  # validated
        externalId=_hostile(6),
        title=_hostile(7),
        nickName=_hostile(8),
    )
    group = world.scim.create_group(_hostile(9), members=[user["id"]], externalId=_hostile(10))
    world.ok("grant", "--org", "acme", "--user", user["id"], "--role", "editor", "project:web")
    world.ok("assign", "--org", "acme", "--group", group["id"], "--role", "viewer", "project:web")
    values = {"user_id": user["id"], "group_id": group["id"], "member_id": user["id"]}
    values |= {"directory": "okta", "project": "web", "asset": "bot"}
    return values


def test_no_page_carries_markup_an_idp_sent(hostile_world, admin, app):
    """Every GET page of /admin, filled with the hostile objects: the markup only escaped."""
    read = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS or set(rule.arguments) - set(hostile_world):
            continue
        path = rule.build({**hostile_world, **(rule.defaults or {})}, False)[1]
        for query in ({}, {"explain": "project:web"}, {"q": "alert"}):
            page = admin.get(path, query_string=query)
            assert page.status_code < 500, path
            text = page.get_data(as_text=True)
            found = [fragment for fragment in UNESCAPED if fragment in text]
            assert not found, (path, query, found)
            read += 1
    assert read >= 30
    events = admin.get("/admin/events").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in events  # shown, escaped
