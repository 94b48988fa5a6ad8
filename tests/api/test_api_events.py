"""GET /api/v1/events: the resumable, gap-safe event stream, behind org API keys."""

import json
import re
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.cli import cli
from rbac.event_log import read_events, record_event
from rbac.payloads import GroupRolesSwitch
from tests.conftest import api_key, make_directory
from web.db import get_engine


def _api_key(app, org="acme") -> str:
    result = app.test_cli_runner().invoke(cli, ["apikey", "create", "--org", org, "--name", "ci"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_events_page_with_a_resumable_cursor(app, client, scim):
    """Pages of events follow each other by cursor, with no repeat and no gap."""
    for n in range(5):
        scim.create_user(f"user{n}")
    headers = {"Authorization": f"Bearer {_api_key(app)}"}
    seen, cursor = [], 0
    while True:
        page = client.get(
            "/api/v1/events", query_string={"after": cursor, "limit": 3}, headers=headers
        )
        assert page.status_code == 200
        body = page.get_json()
        seen += body["data"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    ids = [event["id"] for event in seen]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    types = [event["type"] for event in seen]
    assert types.count("dsync.user.created") == 5
    assert types.count("access.granted") == 5  # each new user becomes an org viewer
    granted = next(e for e in seen if e["type"] == "access.granted")
    assert granted["data"]["new_role"] == "viewer"
    assert granted["data"]["cause"]["type"] == "user_created"
    # The IdP is named by its directory and token, which outlive the request's journal line.
    assert re.fullmatch(r"scim:okta/token-\d+/\w+", granted["data"]["cause"]["actor"])
    again = client.get("/api/v1/events", query_string={"after": cursor}, headers=headers)
    assert again.get_json() == {"data": [], "next_cursor": cursor, "has_more": False}


def test_events_are_scoped_to_the_key_organization(app, client, scim):
    """Another organization's key sees none of this organization's events."""
    scim.create_user("alice")
    make_directory(app, org_slug="globex", name="okta")
    body = client.get(
        "/api/v1/events", headers={"Authorization": f"Bearer {_api_key(app, 'globex')}"}
    ).get_json()
    # Globex's own directory, token and key were made; nothing of acme's is there.
    assert [event["type"] for event in body["data"]] == [
        "directory.created",
        "directory.token.created",
        "api_key.created",
    ]
    assert "alice" not in json.dumps(body)


@pytest.mark.parametrize(
    "query",
    [
        {"after": "-1"},
        {"after": "x"},
        {"after": str(2**63)},  # past a BIGINT: an OverflowError (500) in the driver before
        {"after": "1" * 400},
        {"limit": "0"},
        {"limit": "5000"},
    ],
)
def test_bad_parameters_are_400_json(app, client, directory, query):
    """Bad cursors and limits are a JSON 400 naming the field."""
    headers = {"Authorization": f"Bearer {_api_key(app)}"}
    response = client.get("/api/v1/events", query_string=query, headers=headers)
    assert response.status_code == 400
    assert set(response.get_json()["error"]["details"]) <= {"after", "limit"}


def test_missing_and_revoked_keys_are_401(app, client, directory):
    """No key, a wrong key and a revoked key are all 401 with a JSON error."""
    key = _api_key(app)
    assert client.get("/api/v1/events").status_code == 401
    assert (
        client.get("/api/v1/events", headers={"Authorization": "Bearer rck_nope"}).status_code
        == 401
    )
    runner = app.test_cli_runner()
    listed = runner.invoke(cli, ["apikey", "list", "--org", "acme"]).output
    key_id = listed.strip().splitlines()[1].split("\t")[0]
    assert key not in listed
    assert runner.invoke(cli, ["apikey", "revoke", "--org", "acme", key_id]).exit_code == 0
    response = client.get("/api/v1/events", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_cursor_never_skips_an_event_that_commits_late(app, database_url, directory):
    """Ids of an organization's events become visible in order, whoever started first.

    On PostgreSQL ids are handed out at insert, before commit. Without the organization's
    event lock: A takes its transaction id, B takes a larger one and inserts id N, A inserts
    N+1 and commits; a reader stopping before B (in flight) would see N+1 and move past N for
    good. With it, B waits for A's commit before its first event, and a reader sees nothing of
    either until A commits. SQLite has one writer at a time: the same outcome by construction.
    """
    with app.app_context():
        engine = get_engine()
        early, late, reader = Session(engine), Session(engine), Session(engine)
        try:
            org_id = early.scalar(text("SELECT id FROM organizations WHERE slug = 'acme'"))
            switch = GroupRolesSwitch(True)
            record_event(early, org_id, "org.settings.changed", switch, "early")  # the lock, no id

            def write_late():
                record_event(late, org_id, "org.settings.changed", switch, "late")
                late.commit()

            if engine.dialect.name == "postgresql":
                thread = threading.Thread(target=write_late)
                thread.start()
                thread.join(timeout=1)
                assert thread.is_alive()  # waiting for the early transaction's commit
                visible = [
                    e
                    for e in read_events(reader, org_id)
                    if e.data.get("actor") in ("early", "late")
                ]
                assert visible == []
                reader.rollback()
                early.commit()
                thread.join(timeout=30)
                assert not thread.is_alive()
            else:
                early.commit()
                write_late()
            events = [
                e for e in read_events(reader, org_id) if e.data.get("actor") in ("early", "late")
            ]
            assert [e.data["actor"] for e in events] == ["early", "late"]
            assert events[0].id < events[1].id
        finally:
            for session in (early, late, reader):
                session.close()


def test_a_key_reads_the_events_its_role_covers(world, app, client):
    """A viewer key reads access events without their group; an admin key reads them all.

    As the audit log shows an admin (rbac.audit): group membership, directory and security
    events are for admins (seeds 000 and 003); access is for every role from Viewer up.
    """
    alice = world.scim.create_user("alice")
    world.scim.create_group("Engineering", members=[alice["id"]])
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")

    def feed(role):
        headers = {"Authorization": f"Bearer {api_key(app, role=role)}"}
        return client.get("/api/v1/events?limit=1000", headers=headers).get_json()["data"]

    everything = feed("admin")
    seen = feed("viewer")
    assert {"dsync.group.user_added", "directory.token.created", "api_key.created"} <= {
        event["type"] for event in everything
    }
    assert {event["type"].partition(".")[0] for event in seen} == {
        "access",
        "assignment",
        "resource",
    }
    editor = next(
        e for e in seen if e["type"] == "access.granted" and e["data"]["new_role"] == "editor"
    )
    assert editor["data"]["source"] == "group"  # not which group
    assert "group_id" not in editor["data"]["cause"]
    assert "Engineering" not in json.dumps([e for e in seen if e["type"].startswith("access.")])
    # The same event, whole, for the admin key; ids and order are the stream's.
    whole = next(e for e in everything if e["id"] == editor["id"])
    assert whole["data"]["source"] == "group Engineering"
    assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)
