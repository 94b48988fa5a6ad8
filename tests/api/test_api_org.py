"""/api/v1 catalog, settings and directories (with their journal) over org API keys."""

import json

import pytest

from app.cli import cli
from tests.conftest import Api, api_error, api_key, make_directory


def test_catalog_is_the_cli_catalog(world, app, acme):
    """Every role and permission of `rolecall catalog`, with the same descriptions."""
    catalog = acme.get("/catalog").get_json()
    lines = app.test_cli_runner().invoke(cli, ["catalog"]).output.splitlines()
    cli_roles = [line.split("\t") for line in lines if line.startswith("role\t")]
    api_roles = [
        [
            "role",
            f"{r['scope']}:{r['name']}" + (" (additive)" if r["additive"] else ""),
            r["description"],
        ]
        for r in catalog["roles"]
    ]
    assert api_roles == cli_roles
    cli_permissions = {
        line.split("\t")[0]: line.split("\t")[1].split(", ")
        for line in lines
        if not line.startswith("role\t")
    }
    assert {p["id"]: p["roles"] for p in catalog["permissions"]} == cli_permissions
    owner = next(r for r in catalog["roles"] if r["scope"] == "organization")
    assert "org.delete" in owner["permissions"]


def test_settings_read_and_change_everyone(world, acme):
    """PATCH settings recomputes everyone: the default role reaches users at once."""
    world.user("alice")
    assert acme.get("/settings").get_json() == {
        "default_role": "viewer",
        "group_roles_enabled": True,
    }
    changed = acme.send("PATCH", "/settings", {"default_role": "member"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["default_role"] == "member"
    assert world.explain("alice", "org")["role"] == "member"
    off = acme.send("PATCH", "/settings", {"default_role": None, "group_roles_enabled": False})
    assert off.get_json() == {"default_role": None, "group_roles_enabled": False}
    assert world.explain("alice", "org")["role"] is None
    assert "default_role=none" in world.ok("org", "settings", "--org", "acme")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"default_role": "emperor"}, 422),
        ({"default_role": "owner"}, 409),  # every user would own the organization
        ({"group_roles_enabled": "maybe"}, 422),
        ({"default_role": "viewer", "x": 1}, 422),
    ],
)
def test_bad_settings_change_nothing(world, acme, body, status):
    """An unknown role is a 422, a refused one a 409; the settings stay as they were."""
    before = acme.get("/settings").get_json()
    api_error(acme.send("PATCH", "/settings", body), status)
    assert acme.get("/settings").get_json() == before


def test_directories_show_tokens_never_secrets(world, app, acme):
    """Each directory: provider, the SCIM base URL, its tokens' prefixes and states."""
    world.user("alice")
    make_directory(app, org_slug="acme", name="entra")
    listed = acme.get("/directories").get_json()["data"]
    assert [d["name"] for d in listed] == ["entra", "okta"]
    okta = acme.get("/directories/okta").get_json()
    assert okta == listed[1]
    assert okta["provider"] == "okta" and okta["enabled"] is True
    assert okta["scim_base_url"] == "http://localhost/scim/v2"
    assert [t["state"] for t in okta["tokens"]] == ["active"]
    assert okta["tokens"][0]["last_used_at"] is not None  # the world provisioned through it
    assert world.directory.token not in json.dumps(listed)
    assert okta["tokens"][0]["prefix"] == world.directory.token[: len(okta["tokens"][0]["prefix"])]
    assert api_error(acme.get("/directories/nope"), 404)["code"] == "not_found"


def test_an_admin_key_may_not_pause_a_directory(world, acme):
    """Pausing acts on the IdP's connection: org.manage_directories, which no API key holds."""
    refused = api_error(acme.send("PATCH", "/directories/okta", {"enabled": False}), 403)
    assert "may not org.manage_directories" in refused["message"]
    assert world.scim.get("/Users").status_code == 200
    assert acme.get("/directories/okta").get_json()["enabled"] is True
    world.ok("directory", "disable", "--org", "acme", "--directory", "okta")
    assert world.scim.get("/Users").status_code == 403
    assert acme.get("/directories/okta").get_json()["enabled"] is False
    assert api_error(acme.send("PATCH", "/directories/okta", {}), 422)["code"] == "invalid_body"


def test_the_journal_is_the_directory_newest_first(world, acme):
    """The journal lists SCIM requests newest first; `errors=true` keeps the failures."""
    world.user("alice")
    assert world.scim.get("/Users/nope").status_code == 404
    lines = acme.get("/directories/okta/journal", limit=2).get_json()["data"]
    assert [(line["method"], line["status"]) for line in lines] == [("GET", 404), ("POST", 201)]
    assert lines[0]["id"] > lines[1]["id"]
    errors = acme.get("/directories/okta/journal", errors="true").get_json()["data"]
    assert errors and {line["status"] for line in errors} == {404}
    assert api_error(acme.get("/directories/okta/journal", limit=0), 400)
    assert api_error(acme.get("/directories/nope/journal"), 404)


def test_another_org_directories_are_404(world, app, client):
    """Globex's key sees none of acme's directories, as if they did not exist."""
    make_directory(app, org_slug="globex", name="entra")
    globex = Api(client, api_key(app, "globex"))
    assert [d["name"] for d in globex.get("/directories").get_json()["data"]] == ["entra"]
    foreign, missing = globex.get("/directories/okta"), globex.get("/directories/ghost")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_data(as_text=True).replace("okta", "X") == missing.get_data(
        as_text=True
    ).replace("ghost", "X")
    assert globex.send("PATCH", "/directories/okta", {"enabled": False}).status_code == 404
    assert world.scim.get("/Users").status_code == 200
