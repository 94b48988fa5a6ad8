"""Fixtures of /admin's tests generated from the URL map: every route, filled with real objects."""

import pytest

from tests.webhooks.test_webhooks import create_webhook


@pytest.fixture
def routes(world, admin, app):
    """Every route of /admin with its path filled with objects of the world: (rule, path)."""
    alice = world.scim.create_user("alice")
    group = world.scim.create_group("Engineering", members=[alice["id"]])
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "viewer", "project:web")
    webhook, _ = create_webhook(world, "https://hooks.example/rolecall")
    values = {
        "user_id": alice["id"],
        "group_id": group["id"],
        "member_id": alice["id"],
        "directory": "okta",
        "project": "web",
        "asset": "bot",
        "webhook_id": webhook,
        "grant_id": 1,
        "assignment_id": 1,
        "token_id": 1,
        "key_id": 1,
        "token": "rcp_not-a-link",
    }
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]
    assert len(rules) > 40
    return [(rule, rule.build({**values, **(rule.defaults or {})}, False)[1]) for rule in rules]
