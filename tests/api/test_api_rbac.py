"""POST /api/v1/check, GET /api/v1/explain and /groups/{id}/grants over org API keys."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.api.boundary import domain_error_response
from app.cli import cli
from rbac import tenancy
from rbac.admin.resources import create_project
from rbac.context import Context
from rbac.db import utcnow
from rbac.errors import (
    Conflict,
    Forbidden,
    InvalidMembers,
    NeedsConfirmation,
    NotFound,
    Refused,
    UnknownRole,
)
from rbac.models import ApiKey, ApiKeyRole
from tests.conftest import Api, ScimClient, api_error, api_key, make_directory
from web.db import get_catalog, get_session


def test_check_answers_as_the_cli_does(world, acme):
    """Allowed and denied checks carry the role, the additive roles, the source and a reason."""
    alice = world.user("alice")
    world.group("Engineering", alice)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    allowed = acme.check("alice", "asset.edit", "asset:web/bot")
    assert allowed.status_code == 200
    body = allowed.get_json()
    assert body["allowed"] is True and body["role"] == "admin"
    assert body["additive"] == [] and body["source"] and body["reason"]
    cli = json.loads(
        world.ok("check", "--org", "acme", "--json", "alice", "asset.edit", "asset:web/bot")
    )
    assert body == cli
    by_id = acme.check(alice, "org.manage_billing", "org").get_json()
    assert by_id["allowed"] is False and by_id["role"] == "viewer"


def test_check_list_form_answers_in_order(world, acme):
    """A list of checks is answered in order; an empty or over-long list is a 422."""
    world.user("alice")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "admin", "asset:web/bot")
    questions = [
        {"user": "alice", "permission": "asset.edit", "resource": "asset:web/bot"},
        {"user": "alice", "permission": "asset.edit", "resource": "asset:web/search"},
        {"user": "alice", "permission": "project.view", "resource": "project:web"},
    ]
    response = acme.post("/check", questions)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["allowed"] for r in results] == [True, False, True]
    assert results[0] == acme.check(**questions[0]).get_json()
    assert api_error(acme.post("/check", []), 422)["code"] == "invalid_body"
    assert api_error(acme.post("/check", questions[:1] * 101), 422)["code"] == "invalid_body"
    assert acme.post("/check", questions[:1] * 100).status_code == 200
    bad_item = [*questions[:1], {"user": "nobody", "permission": "org.delete", "resource": "org"}]
    error = api_error(acme.post("/check", bad_item), 404)
    assert error["details"] == {"index": 1} and "nobody" in error["message"]
    invalid = api_error(acme.post("/check", [questions[0], {"user": 1}]), 422)
    assert set(invalid["details"]["1"]) == {"user", "permission", "resource"}


def test_check_errors_name_what_is_wrong(world, acme):
    """Unknown user or resource: 404; unknown permission, bad address, ambiguity: 422."""
    alice = world.user("alice")
    assert api_error(acme.check("nobody", "org.delete", "org"), 404)["code"] == "not_found"
    assert api_error(acme.check("alice", "project.view", "project:nope"), 404)
    no_project = api_error(acme.check("alice", "asset.view", "asset:nope/bot"), 404)
    assert "no project 'nope'" in no_project["message"]
    no_asset = api_error(acme.check("alice", "asset.view", "asset:web/nope"), 404)
    assert "no asset 'nope'" in no_asset["message"]
    # A userName that is another user's id names that user: ids win.
    world.user(alice)
    world.ok("grant", "--org", "acme", "--user", alice, "--role", "admin", "org")
    assert acme.check(alice, "org.delete", "org").get_json()["role"] == "admin"
    assert api_error(acme.check("alice", "org.fly", "org"), 422)["code"] == "invalid_value"
    assert api_error(acme.check("alice", "project.view", "org"), 422)  # a project permission
    assert api_error(acme.check("alice", "org.delete", "nowhere"), 422)
    other = make_directory(world.app, org_slug="acme", name="entra")
    ScimClient(world.scim.client, other.token).create_user("alice")
    ambiguous = api_error(acme.check("alice", "org.delete", "org"), 422)
    assert "2 users named 'alice'" in ambiguous["message"]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ("not json", 400),
        ("{", 400),
        (b"\xff\xfe", 400),
        ("[" * 100_000 + "]" * 100_000, 400),  # deeper than the decoder recurses
        ("null", 422),
        ("42", 422),
        ('"alice"', 422),
        (json.dumps({"user": "alice"}), 422),
        (json.dumps({"user": 1, "permission": [], "resource": {}}), 422),
        (json.dumps({"user": 10**400, "permission": "org.delete", "resource": "org"}), 422),
        (json.dumps({"user": "a", "permission": "org.delete", "resource": "org", "x": 1}), 422),
        (json.dumps({"user": "a" * 600, "permission": "org.delete", "resource": "org"}), 422),
        (json.dumps({"user": "a\u0000b", "permission": "org.delete", "resource": "org"}), 422),
        ('{"user": "\\ud800", "permission": "org.delete", "resource": "org"}', 422),
        (json.dumps([1, 2]), 422),
    ],
)
def test_bad_check_bodies_are_json_errors(world, acme, data, status):
    """Bodies that are not JSON, or JSON of the wrong shape, are JSON errors, never a 500."""
    error = api_error(acme.post("/check", data=data), status)
    assert error["code"] == ("invalid_json" if status == 400 else "invalid_body")
    if status == 422 and data.startswith("{"):
        assert isinstance(error["details"], dict) and error["details"]


def test_check_body_is_read_whatever_its_content_type(world, acme):
    """A JSON body sent as text/plain (curl -d) is still read as JSON."""
    world.user("alice")
    body = json.dumps({"user": "alice", "permission": "org.delete", "resource": "org"})
    assert acme.post("/check", data=body, content_type="text/plain").status_code == 200


def test_explain_returns_the_cli_document(world, acme):
    """GET /explain answers exactly what `rolecall explain --json` prints."""
    alice = world.user("alice")
    world.group("Team", alice)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "viewer", "asset:web/bot")
    response = acme.get("/explain", user=alice, resource="asset:web/bot")
    assert response.status_code == 200
    body = response.get_json()
    assert body == world.explain("alice", "asset:web/bot")
    assert body["role"] == "member" and body["winner"] == "group"
    assert sum(source["wins"] for source in body["sources"]) == 1


def test_explain_shows_the_workforce_rule(world, acme):
    """A workforce's explanation lists the permissions its agents withhold."""
    world.user("alice")
    world.ok(
        "asset", "create", "--org", "acme", "--project", "web", "--kind", "workforce",
        "--uses", "bot", "crew",
    )  # fmt: skip
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/crew")
    body = acme.get("/explain", user="alice", resource="asset:web/crew").get_json()
    assert "asset.run" in body["workforce_rule"]
    assert "bot" in body["workforce_rule"]["asset.run"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"user": "alice"},
        {"user": "alice", "resource": ""},
        {"user": "alice", "resource": "org", "extra": "1"},
        {"user": "a\u0000", "resource": "org"},
        {"user": "a" * 600, "resource": "org"},
    ],
)
def test_bad_explain_parameters_are_400(world, acme, query):
    """Missing, empty, unknown or unstorable query parameters are a 400 naming the field."""
    error = api_error(acme.get("/explain", **query), 400)
    assert error["code"] == "invalid_parameters" and error["details"]


def test_group_grants_lists_own_and_inherited_roles(world, acme):
    """GET /groups/{id}/grants returns explain_group's document (as `group explain --json`)."""
    alice = world.user("alice")
    team = world.group("Team", alice)
    world.ok("assign", "--org", "acme", "--group", "Team", "--role", "member", "asset:web/bot")
    response = acme.get(f"/groups/{team}/grants")
    assert response.status_code == 200
    body = response.get_json()
    assert body == json.loads(world.ok("group", "explain", "--org", "acme", "--json", team))
    assert body["grants"] == [{"resource": "asset:web/bot", "role": "member", "through": None}]
    assert body["members"] == ["alice"]


def test_another_org_objects_answer_as_missing_ones(world, acme, globex, app, client):
    """Org A's key on org B's user, group and resource answers exactly as on made-up ones."""
    stranger = make_directory(app, org_slug="globex", name="okta")
    scim = ScimClient(client, stranger.token)
    bob = scim.create_user("bob")["id"]
    crew = scim.create_group("Crew", [bob])["id"]
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "globex")
        create_project(Context(session, get_catalog(), org), "secret")
        session.commit()
    assert globex.check("bob", "project.view", "project:secret").status_code == 200

    def same(foreign, missing, name_foreign, name_missing):
        assert foreign.status_code == missing.status_code == 404
        text = foreign.get_data(as_text=True).replace(name_foreign, "X")
        assert text == missing.get_data(as_text=True).replace(name_missing, "X")

    same(
        acme.get(f"/groups/{crew}/grants"),
        acme.get("/groups/00000000-0000-0000-0000-000000000000/grants"),
        crew,
        "00000000-0000-0000-0000-000000000000",
    )
    same(
        acme.check(bob, "org.delete", "org"), acme.check("ghost", "org.delete", "org"), bob, "ghost"
    )
    same(
        acme.get("/explain", user=bob, resource="org"),
        acme.get("/explain", user="ghost", resource="org"),
        bob,
        "ghost",
    )
    world.user("alice")
    same(
        acme.check("alice", "project.view", "project:secret"),
        acme.check("alice", "project.view", "project:ghost"),
        "secret",
        "ghost",
    )


def test_bad_keys_are_401_with_a_challenge_on_every_route(world, client):
    """No key, a made-up key and a non-bearer scheme are 401 with WWW-Authenticate: Bearer."""
    routes = [
        ("GET", "/api/v1/events"),
        ("POST", "/api/v1/check"),
        ("GET", "/api/v1/explain?user=a&resource=org"),
        ("GET", "/api/v1/groups/x/grants"),
    ]
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer rck_nope"}, {"Authorization": "Basic x"}):
            response = client.open(path, method=method, headers=headers, data="{}")
            error = api_error(response, 401)
            assert error["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_viewer_keys_read_and_check(world, app, client):
    """A viewer key may check, explain and read events."""
    world.user("alice")
    viewer = Api(client, api_key(app, role="viewer"))
    assert viewer.check("alice", "org.delete", "org").status_code == 200
    assert viewer.get("/explain", user="alice", resource="org").status_code == 200
    assert viewer.get("/events").status_code == 200
    with app.app_context():
        keys = tenancy.list_api_keys(get_session(), tenancy.get_organization(get_session(), "acme"))
        assert [key.role for key in keys] == [ApiKeyRole.VIEWER]


def test_every_write_route_refuses_viewer_keys_with_403(world, app, client):
    """Every /api/v1 write (check is a question) is a 403 for a viewer key and changes nothing."""
    viewer = {"Authorization": f"Bearer {api_key(app, role='viewer')}"}
    writes = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/check"
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
    ]
    assert len(writes) >= 12
    before = client.get("/api/v1/events", headers=viewer).get_json()["data"]
    for rule, method in writes:
        path = rule.build({name: "1" for name in rule.arguments}, append_unknown=False)[1]
        response = client.open(path, method=method, headers=viewer, json={"slug": "x"})
        assert api_error(response, 403)["code"] == "forbidden", (method, path)
    assert client.get("/api/v1/events", headers=viewer).get_json()["data"] == before
    assert before  # the world's users and groups were made


def test_apikey_create_refuses_an_unknown_role(world, app):
    """`apikey create --role` takes admin or viewer only (exit 2)."""
    result = app.test_cli_runner().invoke(
        cli, ["apikey", "create", "--org", "acme", "--role", "owner"]
    )
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound("no user 'x'"), 404, "not_found"),
        (UnknownRole("no role 'x'"), 422, "invalid_value"),
        (InvalidMembers(["x"]), 422, "invalid_members"),
        (Conflict("taken"), 409, "conflict"),
        (Refused("that would leave the organization without an active Owner"), 409, "refused"),
        (NeedsConfirmation("you would lose your own admin role"), 409, "needs_confirmation"),
        (Forbidden("may not"), 403, "forbidden"),
    ],
)
def test_domain_errors_are_translated_by_type(app, error, status, code):
    """Each domain error becomes its status and code, with the domain's message (the rail)."""
    with app.test_request_context("/api/v1/check"):
        response = domain_error_response(error)
    assert response.status_code == status
    assert response.get_json()["error"] == {"code": code, "message": str(error), "details": None}


def test_a_body_over_the_limit_is_a_json_413(world, acme, app):
    """A body over MAX_CONTENT_LENGTH is a JSON 413, not a 500 nor a reset connection."""
    data = "[" + ",".join(["1"] * (app.config["MAX_CONTENT_LENGTH"] // 2)) + "]"
    assert api_error(acme.post("/check", data=data), 413)["code"] == "request_entity_too_large"


def test_a_checker_key_asks_check_and_explain_and_nothing_else(world, app, client):
    """The least-privilege key: check and explain answer; every other route is a 403."""
    world.user("alice")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
    checker = {"Authorization": f"Bearer {api_key(app, role='checker')}"}
    question = {"user": "alice", "permission": "project.view", "resource": "project:web"}
    answer = client.post("/api/v1/check", json=question, headers=checker)
    assert answer.status_code == 200 and answer.get_json()["allowed"] is True
    explained = client.get(
        "/api/v1/explain",
        query_string={"user": "alice", "resource": "project:web"},
        headers=checker,
    )
    assert explained.status_code == 200
    others = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and rule.endpoint not in ("api.check", "api.explain")
        and "GET" in rule.methods
        and not rule.rule.startswith(("/api/v1/openapi", "/api/v1/docs"))
    ]
    assert len(others) >= 10
    for rule in others:
        path = rule.build({name: "1" for name in rule.arguments}, append_unknown=False)[1]
        refused = client.get(path, headers=checker)
        assert api_error(refused, 403)["message"].startswith("this is a checker API key"), path
    written = client.post("/api/v1/projects", json={"slug": "x"}, headers=checker)
    assert api_error(written, 403)["code"] == "forbidden"


def test_an_api_key_expires_when_told(world, app, client):
    """A key made to expire answers until then and 401s after; `apikey list` says expired."""
    result = app.test_cli_runner().invoke(
        cli, ["apikey", "create", "--org", "acme", "--role", "viewer", "--expires-in-days", "1"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    with app.app_context():
        session = get_session()
        session.execute(update(ApiKey).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert client.get("/api/v1/users", headers=headers).status_code == 401
    listed = app.test_cli_runner().invoke(cli, ["apikey", "list", "--org", "acme"]).output
    assert listed.strip().splitlines()[1].endswith("\texpired")
    bad = app.test_cli_runner().invoke(
        cli, ["apikey", "create", "--org", "acme", "--expires-in-days", "0"]
    )
    assert bad.exit_code == 2
