"""/api/v1 users, groups, local writes and who-has-access, over org API keys."""

import pytest

from rbac import tenancy
from tests.conftest import Api, api_error, api_key, make_directory
from web.db import get_session

MISSING = "00000000-0000-0000-0000-000000000000"


def _created(response) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _key_label(app, org="acme") -> str:
    with app.app_context():
        session = get_session()
        keys = tenancy.list_api_keys(session, tenancy.get_organization(session, org))
        admin = [key for key in keys if key.role.value == "admin"]
        return f"apikey:{admin[-1].id}"


def test_users_are_listed_by_page_and_directory(world, acme):
    """Users of every directory and local ones, filtered by directory, resumable by cursor."""
    alice = world.user("alice", emails=[{"value": "alice@acme.test", "primary": True}])
    bob = world.user("bob")
    local = _created(acme.post("/users", {"user_name": "carol", "display_name": "Carol"}))
    assert local["local"] is True and local["directory_id"] is None
    assert local["username"] == "carol" and local["display_name"] == "Carol"
    everyone = acme.get("/users").get_json()
    assert {u["id"] for u in everyone["data"]} == {alice, bob, local["id"]}
    assert everyone["has_more"] is False
    okta = acme.get("/users", directory="okta").get_json()["data"]
    assert {u["id"] for u in okta} == {alice, bob}
    assert acme.get("/users", directory="nope").get_json()["data"] == []
    seen, after = [], None
    while True:
        page = acme.get("/users", limit=1, **({"after": after} if after else {})).get_json()
        seen += [u["id"] for u in page["data"]]
        after = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == sorted([alice, bob, local["id"]])
    assert api_error(acme.get("/users", limit=0), 400)["details"].keys() == {"limit"}


def test_an_empty_page_resumes_from_its_cursor(world, acme):
    """Past the last user, group or holder, a page is empty and resumes from the same cursor."""
    world.user("alice")
    world.group("Engineering")
    empty = {"data": [], "next_cursor": "zzzz", "has_more": False}
    assert acme.get("/users", after="zzzz").get_json() == empty
    assert acme.get("/groups", after="zzzz").get_json() == empty
    holders = acme.get("/access", resource="org", after="zzzz").get_json()
    assert holders == {"resource": "org", **empty}
    nothing = {"data": [], "next_cursor": None, "has_more": False}  # no cursor was given
    assert acme.get("/groups", directory="nope").get_json() == nothing


def test_a_user_is_a_workos_directory_user(world, acme):
    """GET /users/{id} (or userName) is WorkOS's directory_user object plus `local`."""
    alice = world.user("alice", emails=[{"value": "alice@acme.test", "primary": True}])
    body = acme.get(f"/users/{alice}").get_json()
    assert body["object"] == "directory_user" and body["id"] == alice
    assert body["emails"] == [{"value": "alice@acme.test", "type": None, "primary": True}]
    assert body["state"] == "active" and body["local"] is False
    assert acme.get("/users/alice").get_json() == body
    assert api_error(acme.get(f"/users/{MISSING}"), 404)["code"] == "not_found"


def test_creating_a_local_user_records_the_key_and_refuses_a_taken_name(world, app, acme):
    """A new local user is 201 and a user.created event by the key; its name again is 409."""
    user = _created(acme.post("/users", {"user_name": "dora"}))
    assert user["display_name"] is None
    events = acme.get("/events").get_json()["data"]
    created = [e for e in events if e["type"] == "user.created"]
    assert created and created[-1]["data"]["actor"] == _key_label(app)
    assert api_error(acme.post("/users", {"user_name": "DORA"}), 409)["code"] == "conflict"


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/users", {}, {"user_name"}),
        ("/users", {"user_name": ""}, {"user_name"}),
        ("/users", {"user_name": "x" * 257}, {"user_name"}),
        ("/users", {"user_name": "a\x00b"}, {"user_name"}),
        ("/users", {"user_name": "eve", "admin": True}, {"admin"}),
        ("/groups", {"name": "Ops"}, {"slug"}),
        ("/groups", {"name": "Ops", "slug": "s" * 65}, {"slug"}),
        ("/groups", {"name": 3, "slug": "ops", "description": "d" * 1001}, {"name", "description"}),
    ],
)
def test_bad_bodies_are_422_per_field(world, acme, path, body, fields):
    """A body of the wrong shape is a 422 naming each field."""
    error = api_error(acme.post(path, body), 422)
    assert error["code"] == "invalid_body" and set(error["details"]) == fields


def test_bodies_that_are_not_objects_are_refused(world, acme):
    """Not JSON is a 400; a JSON array or empty change is a 422."""
    assert api_error(acme.post("/users", data="{"), 400)["code"] == "invalid_json"
    assert api_error(acme.post("/groups", ["x"]), 422)["code"] == "invalid_body"
    group = _created(acme.post("/groups", {"name": "Ops", "slug": "ops"}))
    assert api_error(acme.send("PATCH", f"/groups/{group['id']}", {}), 422)["details"]
    empty = api_error(acme.post(f"/groups/{group['id']}/members", {"users": []}), 422)
    assert "_schema" in empty["details"]
    assert api_error(acme.post("/groups", {"name": "Bad", "slug": "a/b"}), 422)["code"] == (
        "invalid_value"
    )


def test_local_groups_are_created_renamed_filled_emptied_and_deleted(world, app, acme):
    """The whole life of a local group, with members, nesting and its events."""
    alice, bob = world.user("alice"), world.user("bob")
    team = _created(acme.post("/groups", {"name": "Team", "slug": "team"}))
    dept = _created(
        acme.post("/groups", {"name": "Dept", "slug": "dept", "description": "all of us"})
    )
    assert dept["local"] is True and dept["description"] == "all of us"
    assert dept["member_count"] == 0 and dept["members"] == []
    events = acme.get("/events").get_json()["data"]
    created = [e for e in events if e["type"] == "group.created"]
    assert len(created) == 2 and {e["data"]["actor"] for e in created} == {_key_label(app)}
    assert api_error(acme.post("/groups", {"name": "Other", "slug": "dept"}), 409)["code"] == (
        "conflict"
    )

    renamed = acme.send("PATCH", f"/groups/{dept['id']}", {"name": "Department"})
    assert renamed.status_code == 200
    assert renamed.get_json()["name"] == "Department"
    assert renamed.get_json()["description"] == "all of us"
    described = acme.send("PATCH", "/groups/dept", {"description": "everyone"}).get_json()
    assert described["name"] == "Department" and described["description"] == "everyone"

    added = acme.post(
        f"/groups/{dept['id']}/members", {"users": [alice, "bob"], "groups": ["team"]}
    )
    assert added.status_code == 200, added.get_json()
    body = added.get_json()
    assert body["member_count"] == 3 and body["members_truncated"] is False
    assert body["members"] == [
        {"type": "user", "id": alice, "name": "alice"},
        {"type": "user", "id": bob, "name": "bob"},
        {"type": "group", "id": team["id"], "name": "Team"},
    ]
    assert acme.get(f"/groups/{dept['id']}", limit=1).get_json()["members_truncated"] is True
    listed = {g["id"]: g for g in acme.get("/groups").get_json()["data"]}
    assert listed[dept["id"]]["member_count"] == 3 and listed[team["id"]]["member_count"] == 0
    cycle = acme.post(f"/groups/{team['id']}/members", {"groups": [dept["id"]]})
    assert api_error(cycle, 422)

    removed = acme.send("DELETE", f"/groups/{dept['id']}/members", {"users": [bob]})
    assert removed.status_code == 200 and removed.get_json()["member_count"] == 2
    assert acme.send("DELETE", f"/groups/{dept['id']}").status_code == 204
    assert api_error(acme.get(f"/groups/{dept['id']}"), 404)["code"] == "not_found"
    assert api_error(acme.send("DELETE", f"/groups/{dept['id']}"), 404)


def test_idp_groups_are_read_here_and_written_by_their_idp(world, acme):
    """An IdP group reads like any other; every write to it is a 409 naming its IdP."""
    alice = world.user("alice")
    engineering = world.group("Engineering", alice)
    body = acme.get(f"/groups/{engineering}").get_json()
    assert body["object"] == "directory_group" and body["local"] is False
    assert body["members"] == [{"type": "user", "id": alice, "name": "alice"}]
    assert [g["id"] for g in acme.get("/groups", directory="okta").get_json()["data"]] == [
        engineering
    ]
    writes = [
        acme.send("PATCH", f"/groups/{engineering}", {"name": "Eng"}),
        acme.send("DELETE", f"/groups/{engineering}"),
        acme.post(f"/groups/{engineering}/members", {"users": [alice]}),
        acme.send("DELETE", f"/groups/{engineering}/members", {"users": [alice]}),
    ]
    for response in writes:
        error = api_error(response, 409)
        assert error["code"] == "refused" and "managed by its IdP" in error["message"]
    assert acme.get(f"/groups/{engineering}").get_json()["member_count"] == 1


def test_viewer_keys_read_and_never_write(world, viewer, acme):
    """A viewer key reads every directory route; each write is a 403."""
    alice = world.user("alice")
    group = _created(acme.post("/groups", {"name": "Ops", "slug": "ops"}))["id"]
    for path in (
        "/users",
        f"/users/{alice}",
        f"/users/{alice}/access",
        "/groups",
        f"/groups/{group}",
    ):
        assert viewer.get(path).status_code == 200, path
    assert viewer.get("/access", resource="org").status_code == 200
    writes = [
        viewer.post("/users", {"user_name": "eve"}),
        viewer.post("/groups", {"name": "X", "slug": "x"}),
        viewer.send("PATCH", f"/groups/{group}", {"name": "Y"}),
        viewer.send("DELETE", f"/groups/{group}"),
        viewer.post(f"/groups/{group}/members", {"users": [alice]}),
        viewer.send("DELETE", f"/groups/{group}/members", {"users": [alice]}),
    ]
    assert [api_error(r, 403)["code"] for r in writes] == ["forbidden"] * len(writes)


def test_another_orgs_users_and_groups_answer_as_missing_ones(world, app, client, acme):
    """Org B's key gets a 404 on org A's users and groups, as on ids that exist nowhere."""
    alice = world.user("alice")
    local = _created(acme.post("/groups", {"name": "Ops", "slug": "ops"}))["id"]
    idp = world.group("Engineering", alice)
    make_directory(app, org_slug="globex", name="entra")
    globex = Api(client, api_key(app, "globex"))
    assert globex.get("/users").get_json()["data"] == []
    assert globex.get("/groups").get_json()["data"] == []
    for target in (alice, local, idp, MISSING):
        for response in (
            globex.get(f"/users/{target}"),
            globex.get(f"/users/{target}/access"),
            globex.get(f"/groups/{target}"),
            globex.send("PATCH", f"/groups/{target}", {"name": "Mine"}),
            globex.send("DELETE", f"/groups/{target}"),
            globex.post(f"/groups/{target}/members", {"users": ["nobody"]}),
        ):
            assert api_error(response, 404)["code"] == "not_found"
    mine = _created(globex.post("/groups", {"name": "Mine", "slug": "mine"}))["id"]
    assert api_error(globex.post(f"/groups/{mine}/members", {"users": [alice]}), 404)
    assert acme.get(f"/groups/{local}").get_json()["name"] == "Ops"


def test_access_lists_match_explain(world, acme):
    """A user's access and a resource's holders agree with `rolecall explain` and check."""
    alice, bob = world.user("alice"), world.user("bob")
    world.group("Engineering", alice)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    world.ok("grant", "--org", "acme", "--user", "bob", "--role", "viewer", "asset:web/bot")
    mine = acme.get(f"/users/{alice}/access").get_json()
    assert mine["user"] == {"id": alice, "username": "alice"}
    by_resource = {item["resource"]: item for item in mine["access"]}
    assert set(by_resource) == {"org", "project:web", "asset:web/bot", "asset:web/search"}
    for resource, item in by_resource.items():
        explained = world.explain("alice", resource)
        assert item["role"] == explained["role"] == explained["materialised_role"]
        assert item["additive"] == explained["additive"]
    assert by_resource["asset:web/bot"]["role"] == "admin"
    assert world.check("alice", "asset.edit", "asset:web/bot")

    holders = acme.get("/access", resource="asset:web/bot").get_json()
    assert holders["resource"] == "asset:web/bot" and holders["has_more"] is False
    roles = {h["user"]["username"]: h for h in holders["data"]}
    assert roles["alice"]["role"] == "admin" and roles["bob"]["role"] == "viewer"
    assert roles["alice"]["source"] == by_resource["asset:web/bot"]["source"]
    bobs = {i["resource"]: i for i in acme.get("/users/bob/access").get_json()["access"]}
    assert roles["bob"]["source"] == bobs["asset:web/bot"]["source"]
    assert world.check("bob", "asset.view", "asset:web/bot")
    first = acme.get("/access", resource="asset:web/bot", limit=1).get_json()
    assert first["has_more"] is True and len(first["data"]) == 1
    rest = acme.get("/access", resource="asset:web/bot", after=first["next_cursor"]).get_json()
    assert {h["user"]["id"] for h in first["data"] + rest["data"]} == {alice, bob}
    assert api_error(acme.get("/access", resource="project:nope"), 404)["code"] == "not_found"
    assert api_error(acme.get("/access", resource="nonsense"), 422)["code"] == "invalid_value"
    assert api_error(acme.get("/access"), 400)["details"].keys() == {"resource"}


def test_an_admin_key_cannot_make_or_unmake_an_owner_through_a_group(world, acme):
    """Only an Owner gives or takes the Owner role, whatever the route (seed 003).

    A local group holding Owner: adding someone to it, nesting an IdP group in it, removing a
    member or deleting the group would move the Owner role; an admin key gets a 403 for each,
    and nothing changes.
    """
    world.user("alice")
    olivia = world.user("olivia")
    world.group("Engineering", world.user("eve"))
    world.user("bob")  # an Owner besides: the last-Owner rail is not what refuses here
    world.ok("grant", "--org", "acme", "--user", "bob", "--role", "owner", "org")
    world.ok("group", "create", "--org", "acme", "--slug", "owners", "Owners")
    world.ok("group", "add", "--org", "acme", "owners", "olivia")
    world.ok("assign", "--org", "acme", "--group", "Owners", "--role", "owner", "org")
    for refused in (
        acme.post("/groups/owners/members", {"users": ["alice"], "groups": []}),
        acme.post("/groups/owners/members", {"users": [], "groups": ["Engineering"]}),
        acme.send("DELETE", "/groups/owners/members", {"users": [olivia], "groups": []}),
        acme.delete("/groups/owners"),
    ):
        error = api_error(refused, 403)
        assert "may not give or take owner on org" in error["message"], error
    assert [world.explain(u, "org")["role"] for u in ("alice", "eve", "olivia")] == [
        "viewer",
        "viewer",
        "owner",
    ]
