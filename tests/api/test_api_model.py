"""/api/v1 projects, assets, direct grants and group assignments over org API keys."""

import json

import pytest

from app.api.reference import openapi_document
from tests.conftest import ScimClient, api_error, api_key, make_directory


def test_projects_create_list_get(world, acme):
    """POST creates a project (201), again is a 200 with it; list pages; get by slug."""
    created = acme.post("/projects", {"slug": "ops"})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["slug"] == "ops" and body["resource"] == "project:ops"
    again = acme.post("/projects", {"slug": "ops"})
    assert again.status_code == 200 and again.get_json() == body
    listed = acme.get("/projects").get_json()
    assert [p["slug"] for p in listed["data"]] == ["web", "ops"]
    assert listed["has_more"] is False
    first = acme.get("/projects", limit=1).get_json()
    assert [p["slug"] for p in first["data"]] == ["web"] and first["has_more"] is True
    rest = acme.get("/projects", limit=1, after=first["next_cursor"]).get_json()
    assert [p["slug"] for p in rest["data"]] == ["ops"]
    assert acme.get("/projects/ops").get_json() == body
    assert api_error(acme.get("/projects/nope"), 404)["code"] == "not_found"
    world.user("alice")
    assert not world.check("alice", "project.view", "project:ops")  # viewer of the org only


def test_an_empty_page_resumes_from_the_cursor_given(world, acme):
    """Past the last row a page is empty, with no more, and hands back the cursor it was given."""
    for path in ("/projects", "/projects/web/assets", "/grants", "/assignments"):
        empty = acme.get(path, after=1000).get_json()
        assert empty == {"data": [], "next_cursor": 1000, "has_more": False}, path


def test_assets_create_list_get(world, acme):
    """An asset with a creator and a workforce using agents; identical re-create is a 200."""
    alice = world.user("alice")
    body = {"slug": "crew", "kind": "workforce", "creator": "alice", "uses": ["bot"]}
    created = acme.post("/projects/web/assets", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    crew = created.get_json()
    assert crew["kind"] == "workforce" and crew["creator"] == alice
    assert crew["uses"] == ["bot"] and crew["resource"] == "asset:web/crew"
    assert acme.post("/projects/web/assets", body).status_code == 200
    different = acme.post("/projects/web/assets", {**body, "uses": []})
    assert api_error(different, 409)["code"] == "conflict"
    assert acme.get("/projects/web/assets/crew").get_json() == crew
    listed = acme.get("/projects/web/assets").get_json()["data"]
    assert [a["slug"] for a in listed] == ["bot", "search", "crew"]
    assert world.check("alice", "asset.edit", "asset:web/bot") is False
    grants = acme.get("/grants", user="alice").get_json()["data"]
    assert [(g["role"], g["resource"]) for g in grants] == [("admin", "asset:web/crew")]
    assert api_error(acme.get("/projects/web/assets/nope"), 404)
    assert api_error(acme.get("/projects/nope/assets"), 404)
    bad_agent = {"slug": "x", "kind": "workforce", "uses": ["search"]}
    assert api_error(acme.post("/projects/web/assets", bad_agent), 422)["code"] == "invalid_value"
    ghost = {"slug": "y", "kind": "agent", "creator": "ghost"}
    assert api_error(acme.post("/projects/web/assets", ghost), 404)


def test_grants_are_idempotent_and_listed(world, acme):
    """POST a grant: 201, then 200 with the same grant; list with filters; get; delete 204."""
    alice = world.user("alice")
    world.user("bob")
    body = {"user": "alice", "role": "editor", "resource": "project:web"}
    created = acme.post("/grants", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    grant = created.get_json()
    assert grant["user"] == alice and grant["user_name"] == "alice"
    assert grant["role"] == "editor" and grant["resource"] == "project:web"
    assert grant["granted_by"].startswith("apikey:")
    again = acme.post("/grants", {**body, "user": alice})
    assert again.status_code == 200 and again.get_json() == grant
    acme.post("/grants", {"user": "bob", "role": "viewer", "resource": "asset:web/bot"})
    assert len(acme.get("/grants").get_json()["data"]) == 2
    assert acme.get("/grants", user="alice").get_json()["data"] == [grant]
    on_bot = acme.get("/grants", resource="asset:web/bot").get_json()["data"]
    assert [g["user_name"] for g in on_bot] == ["bob"]
    assert acme.get(f"/grants/{grant['id']}").get_json() == grant
    assert world.check("alice", "asset.edit", "asset:web/bot")
    assert acme.delete("/grants", **body).status_code == 204
    assert not world.check("alice", "asset.edit", "asset:web/bot")
    assert api_error(acme.delete("/grants", **body), 404)["code"] == "not_found"
    assert acme.delete(f"/grants/{on_bot[0]['id']}").status_code == 204
    assert api_error(acme.get(f"/grants/{on_bot[0]['id']}"), 404)
    assert acme.get("/grants").get_json()["data"] == []


def test_assignments_are_idempotent_and_listed(world, acme):
    """POST an assignment: 201, then 200; list, get, delete by triple and by id: 204."""
    alice = world.user("alice")
    team = world.group("Team", alice)
    body = {"group": "Team", "role": "member", "resource": "asset:web/bot"}
    created = acme.post("/assignments", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    assignment = created.get_json()
    assert assignment["group"] == team and assignment["group_name"] == "Team"
    assert assignment["role"] == "member" and assignment["assigned_by"].startswith("apikey:")
    assert acme.post("/assignments", {**body, "group": team}).status_code == 200
    assert world.check("alice", "asset.run", "asset:web/bot")
    assert acme.get("/assignments", group=team).get_json()["data"] == [assignment]
    assert acme.get("/assignments", resource="project:web").get_json()["data"] == []
    assert acme.get(f"/assignments/{assignment['id']}").get_json() == assignment
    assert acme.delete("/assignments", **body).status_code == 204
    assert not world.check("alice", "asset.run", "asset:web/bot")
    assert api_error(acme.delete("/assignments", **body), 404)
    again = acme.post("/assignments", body).get_json()
    assert acme.delete(f"/assignments/{again['id']}").status_code == 204
    assert acme.get("/assignments").get_json()["data"] == []


def test_writes_are_events_by_the_key(world, acme):
    """Every write is in /events with the key as its actor (apikey:N)."""
    world.user("alice")
    world.group("Team")
    acme.post("/projects", {"slug": "ops"})
    grant = {"user": "alice", "role": "editor", "resource": "project:ops"}
    acme.post("/grants", grant)
    acme.delete("/grants", **grant)
    assignment = {"group": "Team", "role": "viewer", "resource": "project:ops"}
    acme.post("/assignments", assignment)
    acme.delete("/assignments", **assignment)
    events = acme.get("/events", limit=1000).get_json()["data"]
    written = [e for e in events if e["type"] in WRITTEN and e["data"]["actor"] != "cli"]
    assert [e["type"] for e in written] == list(WRITTEN)
    actors = {e["data"]["actor"] for e in written}
    assert len(actors) == 1 and actors.pop().startswith("apikey:")
    granted = written[1]["data"]
    assert granted["resource"] == "project:ops" and granted["role"] == "editor"


WRITTEN = (
    "resource.created",
    "grant.created",
    "grant.deleted",
    "assignment.created",
    "assignment.deleted",
)


def test_an_admin_key_may_neither_give_nor_take_the_owner_role(world, acme):
    """Only an Owner gives the Owner role (seed 003); an admin key is an org Admin: 403s."""
    world.user("alice")
    world.user("bob")
    world.group("Admins", world.user("mallory"))
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "owner", "org")
    for refused in (
        acme.post("/grants", {"user": "bob", "role": "owner", "resource": "org"}),
        acme.post("/assignments", {"group": "Admins", "role": "Owner", "resource": "org"}),
        acme.delete("/grants", user="alice", role="owner", resource="org"),
    ):
        error = api_error(refused, 403)
        assert "may not give or take owner on org" in error["message"], error
    assert (
        acme.post("/grants", {"user": "bob", "role": "admin", "resource": "org"}).status_code == 201
    )
    assert world.explain("alice", "org")["role"] == "owner"
    assert world.explain("mallory", "org")["role"] == "viewer"


def test_viewer_keys_read_but_never_write(world, acme, viewer):
    """A viewer key lists and gets; every write is a 403 and changes nothing."""
    world.user("alice")
    world.group("Team")
    grant = acme.post("/grants", {"user": "alice", "role": "viewer", "resource": "org"}).get_json()
    for path in ("/projects", "/projects/web", "/projects/web/assets", "/grants", "/assignments"):
        assert viewer.get(path).status_code == 200, path
    assert viewer.get(f"/grants/{grant['id']}").status_code == 200
    writes = [
        viewer.post("/projects", {"slug": "ops"}),
        viewer.post("/projects/web/assets", {"slug": "a", "kind": "agent"}),
        viewer.post("/grants", {"user": "alice", "role": "editor", "resource": "project:web"}),
        viewer.post("/assignments", {"group": "Team", "role": "editor", "resource": "org"}),
        viewer.delete("/grants", user="alice", role="viewer", resource="org"),
        viewer.delete(f"/grants/{grant['id']}"),
        viewer.delete("/assignments", group="Team", role="editor", resource="org"),
        viewer.delete("/assignments/1"),
    ]
    for response in writes:
        assert api_error(response, 403)["code"] == "forbidden"
    assert [p["slug"] for p in acme.get("/projects").get_json()["data"]] == ["web"]
    assert acme.get("/grants").get_json()["data"] == [grant]


def test_another_org_objects_are_404_like_missing_ones(world, acme, globex, app, client):
    """Globex's key on acme's project, asset, grant and assignment: 404, as on made-up ones."""
    world.user("alice")
    world.group("Team")
    grant = acme.post("/grants", {"user": "alice", "role": "viewer", "resource": "org"})
    assignment = acme.post("/assignments", {"group": "Team", "role": "viewer", "resource": "org"})
    grant_id, assignment_id = grant.get_json()["id"], assignment.get_json()["id"]
    missing = 10**9

    def same(foreign, made_up, name_foreign, name_missing):
        assert foreign.status_code == made_up.status_code == 404
        text = foreign.get_data(as_text=True).replace(str(name_foreign), "X")
        assert text == made_up.get_data(as_text=True).replace(str(name_missing), "X")

    same(globex.get("/projects/web"), globex.get("/projects/ghost"), "web", "ghost")
    same(globex.get("/projects/web/assets"), globex.get("/projects/ghost/assets"), "web", "ghost")
    same(globex.get(f"/grants/{grant_id}"), globex.get(f"/grants/{missing}"), grant_id, missing)
    same(
        globex.delete(f"/grants/{grant_id}"), globex.delete(f"/grants/{missing}"), grant_id, missing
    )
    same(
        globex.get(f"/assignments/{assignment_id}"),
        globex.get(f"/assignments/{missing}"),
        assignment_id,
        missing,
    )
    same(
        globex.post("/grants", {"user": "alice", "role": "viewer", "resource": "org"}),
        globex.post("/grants", {"user": "ghost", "role": "viewer", "resource": "org"}),
        "alice",
        "ghost",
    )
    assert api_error(globex.get(f"/grants/{2**31}"), 404) == api_error(globex.get("/grants/x"), 404)
    assert api_error(globex.get(f"/assignments/{10**30}"), 404)
    assert globex.get("/projects").get_json()["data"] == []
    assert globex.get("/grants").get_json()["data"] == []
    assert globex.get("/assignments").get_json()["data"] == []
    assert acme.get(f"/grants/{grant_id}").status_code == 200


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/projects", {}),
        ("/projects", {"slug": "ops", "extra": 1}),
        ("/projects", {"slug": 42}),
        ("/projects", {"slug": "a" * 101}),
        ("/projects", {"slug": "has/slash"}),
        ("/projects", {"slug": "a\u0000"}),
        ("/projects", ["ops"]),
        ("/projects", "ops"),
        ("/projects/web/assets", {"slug": "a", "kind": "robot"}),
        ("/projects/web/assets", {"slug": "a", "kind": "agent", "uses": "bot"}),
        ("/projects/web/assets", {"slug": "a", "kind": "agent", "uses": ["b"] * 101}),
        ("/projects/web/assets", {"slug": "a", "kind": "agent", "creator": "x" * 600}),
        ("/grants", {"user": "alice", "role": "viewer"}),
        ("/grants", {"user": ["alice"], "role": "viewer", "resource": "org"}),
        ("/grants", {"user": "alice", "role": "viewer", "resource": "org", "why": "x"}),
        ("/grants", {"user": "a" * 10_000, "role": "viewer", "resource": "org"}),
        ("/assignments", {"group": 1, "role": "viewer", "resource": "org"}),
        ("/assignments", {"group": "Team", "role": None, "resource": "org"}),
    ],
)
def test_bad_bodies_are_422_per_field(world, acme, path, data):
    """Unknown fields, wrong types, too-long or unstorable strings: 422 with per-field details."""
    error = api_error(acme.post(path, data), 422)
    assert error["code"] == "invalid_body" and error["details"]


def test_non_json_bodies_and_bad_parameters_are_400(world, acme):
    """A body that is not JSON is a 400; bad query parameters too, naming the field."""
    assert api_error(acme.post("/grants", data="{"), 400)["code"] == "invalid_json"
    assert api_error(acme.get("/projects", limit=0), 400)["code"] == "invalid_parameters"
    assert api_error(acme.get("/grants", colour="red"), 400)["details"]
    assert api_error(acme.delete("/grants", user="alice"), 400)["code"] == "invalid_parameters"


def test_domain_refusals_are_422(world, acme):
    """An unknown role, a role of another scope, a malformed address: 422 invalid_value."""
    world.user("alice")
    for body in (
        {"user": "alice", "role": "wizard", "resource": "org"},
        {"user": "alice", "role": "editor", "resource": "org"},
        {"user": "alice", "role": "viewer", "resource": "nowhere"},
    ):
        assert api_error(acme.post("/grants", body), 422)["code"] == "invalid_value", body


def test_scim_and_api_users_mix(world, acme, app, client):
    """A user named by id or userName, in a second directory of the same org: ambiguity 422."""
    world.user("alice")
    other = make_directory(app, org_slug="acme", name="entra")
    ScimClient(client, other.token).create_user("alice")
    body = {"user": "alice", "role": "viewer", "resource": "org"}
    assert "2 users named 'alice'" in api_error(acme.post("/grants", body), 422)["message"]


def test_the_document_describes_every_model_route(app):
    """Each model operation has its request body or parameters and its statuses documented."""
    with app.app_context():
        paths = openapi_document()["paths"]
    schemas = {
        ("/api/v1/projects", "post"): "ProjectIn",
        ("/api/v1/projects/{project}/assets", "post"): "AssetIn",
        ("/api/v1/grants", "post"): "GrantIn",
        ("/api/v1/assignments", "post"): "AssignmentIn",
    }
    for (path, method), schema in schemas.items():
        operation = paths[path][method]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith("/" + schema)
        assert {"200", "201", "401", "403", "409", "422"} <= set(operation["responses"])
    for path in ("/api/v1/grants", "/api/v1/assignments"):
        assert {"204", "403", "404", "409"} <= set(paths[path]["delete"]["responses"])
        assert {p["name"] for p in paths[path]["delete"]["parameters"]} >= {"role", "resource"}
        assert "200" in paths[path]["get"]["responses"]
    assert json.dumps(paths["/api/v1/projects/{project}/assets/{asset}"]["get"])


@pytest.mark.parametrize("path", ["/api/v1/projects", "/api/v1/grants", "/api/v1/assignments"])
def test_a_cursor_past_the_id_column_is_400(app, client, path):
    """after=13658737576 (found by schemathesis: a 500 on PostgreSQL) is a 400 naming `after`."""
    make_directory(app)
    key = api_key(app)
    response = client.get(
        path, query_string={"after": 13658737576}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 400, response.get_json()
    assert "after" in response.get_json()["error"]["details"]


def test_projects_and_assets_are_deleted_with_every_role_on_them(world, acme):
    """DELETE a project or an asset: 204, then 404; the roles on it are revoked by events."""
    world.user("alice")
    acme.post("/grants", {"user": "alice", "role": "member", "resource": "asset:web/bot"})
    assert acme.delete("/projects/web/assets/bot").status_code == 204
    assert api_error(acme.get("/projects/web/assets/bot"), 404)["code"] == "not_found"
    assert api_error(acme.delete("/projects/web/assets/bot"), 404)
    assert acme.get("/grants", user="alice").get_json()["data"] == []
    assert acme.delete("/projects/web").status_code == 204
    assert api_error(acme.get("/projects/web"), 404)
    assert api_error(acme.get("/projects/web/assets/search"), 404)
    deleted = [
        e["data"]["deleted"]
        for e in acme.get("/events", limit=1000).get_json()["data"]
        if e["type"] == "resource.deleted"
    ]
    assert deleted == [["asset:web/bot"], ["asset:web/search", "project:web"]]
    world.verify_clean()


def test_a_workforce_agents_are_replaced_by_patch(world, acme):
    """PATCH uses on a workforce replaces its agents; on another kind of asset it is a 422."""
    acme.post("/projects/web/assets", {"slug": "writer", "kind": "agent"})
    crew = acme.post("/projects/web/assets", {"slug": "crew", "kind": "workforce", "uses": ["bot"]})
    assert crew.get_json()["uses"] == ["bot"]
    changed = acme.client.patch(
        "/api/v1/projects/web/assets/crew", json={"uses": ["writer", "bot"]}, headers=acme.headers
    )
    assert changed.status_code == 200 and changed.get_json()["uses"] == ["bot", "writer"]
    assert acme.get("/projects/web/assets/crew").get_json()["uses"] == ["bot", "writer"]
    not_a_workforce = acme.client.patch(
        "/api/v1/projects/web/assets/bot", json={"uses": []}, headers=acme.headers
    )
    assert api_error(not_a_workforce, 422)["code"] == "invalid_value"
    unknown = acme.client.patch(
        "/api/v1/projects/web/assets/crew", json={"uses": ["ghost"]}, headers=acme.headers
    )
    assert api_error(unknown, 404)
