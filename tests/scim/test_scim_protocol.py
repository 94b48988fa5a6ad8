"""Authentication, media types, errors and discovery under /scim/v2."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.cli import cli
from rbac import tenancy
from rbac.catalog import load_catalog
from rbac.context import Context
from rbac.db import utcnow
from rbac.models import DirectoryToken, JournalEntry, Provider
from tests.conftest import USER_SCHEMA, ScimClient, make_directory
from web.db import get_session

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong", "Basic dXNlcjpwYXNz"])
def test_missing_or_bad_token_is_401_with_bearer_challenge(client, directory, header):
    """Every request without a live token is a SCIM 401 with WWW-Authenticate: Bearer."""
    headers = {"Authorization": header} if header else {}
    response = client.get("/scim/v2/Users", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["schemas"] == [ERROR_SCHEMA]
    assert response.get_json()["status"] == "401"


def test_revoked_and_expired_tokens_are_refused(app, client, directory):
    """A revoked token and an expired token both answer 401; last_used_at is recorded."""
    scim = ScimClient(client, directory.token)
    assert scim.get("/Users").status_code == 200
    with app.app_context():
        session = get_session()
        token = session.scalar(select(DirectoryToken))
        assert token.last_used_at is not None
        org = tenancy.get_organization(session, directory.org_slug)
        _, expiring = tenancy.issue_token(
            Context(session, load_catalog(), org),
            tenancy.get_directory(session, org, directory.name),
            utcnow() - timedelta(1),
        )
        token.revoked_at = utcnow()
        session.commit()
    assert scim.get("/Users").status_code == 401
    assert ScimClient(client, expiring).get("/Users").status_code == 401


def test_a_token_sees_only_its_own_directory(app, client, scim):
    """Users of one directory are invisible (404, not listed) to another directory's token."""
    user = scim.create_user("alice")
    other = ScimClient(client, make_directory(app, org_slug="globex", name="okta").token)
    assert other.get(f"/Users/{user['id']}").status_code == 404
    assert other.delete(f"/Users/{user['id']}").status_code == 404
    assert other.get("/Users").get_json()["totalResults"] == 0
    assert scim.get(f"/Users/{user['id']}").status_code == 200
    # The same userName may exist in another directory.
    assert other.create_user("alice")["id"] != user["id"]


def test_plain_json_content_type_is_accepted_and_scim_json_answered(scim):
    """Okta sends application/json; the answer is application/scim+json."""
    response = scim.post(
        "/Users",
        json={"schemas": [USER_SCHEMA], "userName": "okta-user"},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/scim+json"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_malformed_body_is_400_invalid_syntax(scim, body):
    """A body that is not a JSON object is invalidSyntax, never a 500."""
    response = scim.request(
        "POST", "/Users", data=body, headers={"Content-Type": "application/scim+json"}
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidSyntax"


def test_oversized_body_is_413_too_large(scim):
    """A body over the limit is a SCIM 413 tooLarge."""
    huge = {"schemas": [USER_SCHEMA], "userName": "x", "title": "x" * (2 * 1024 * 1024)}
    response = scim.post("/Users", huge)
    assert response.status_code == 413
    assert response.get_json()["scimType"] == "tooLarge"


def test_unknown_route_and_method_are_scim_errors(scim):
    """Unknown paths are 404 and wrong methods 405, both as SCIM errors."""
    missing = scim.get("/Nope")
    assert missing.status_code == 404
    assert missing.get_json()["schemas"] == [ERROR_SCHEMA]
    wrong = scim.request("DELETE", "/Users")
    assert wrong.status_code == 405
    assert wrong.get_json()["status"] == "405"


def test_negative_count_and_start_index_are_floored(scim):
    """RFC 7644 §3.4.2.4: a negative count means 0, a startIndex below 1 means 1."""
    scim.create_user("alice")
    page = scim.get("/Users", query_string={"count": -5, "startIndex": -3}).get_json()
    assert page["totalResults"] == 1
    assert page["startIndex"] == 1
    assert page["itemsPerPage"] == 0


def test_me_is_501_and_bulk_is_501(scim):
    """/Me answers 501 (a provisioning client has no self); Bulk is not supported."""
    assert scim.get("/Me").status_code == 501
    assert scim.post("/Bulk", {"schemas": []}).status_code == 501


@pytest.mark.parametrize(
    "params",
    [
        {"startIndex": "abc"},
        {"count": "x"},
        {"sortOrder": "sideways"},
        {"sortBy": "noSuchAttribute"},
        {"attributes": "]["},
    ],
)
def test_bad_query_parameters_are_400_not_500(scim, params):
    """Nonsensical list parameters get a SCIM 400."""
    response = scim.get("/Users", query_string=params)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["schemas"] == [ERROR_SCHEMA]


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
        {"Operations": [{"op": "explode", "path": "title"}]},
        {"Operations": [{"op": "remove"}]},
        {"Operations": [{"op": "add", "path": "title"}]},
        {"Operations": "nope"},
    ],
)
def test_malformed_patch_is_400(scim, body):
    """PatchOp bodies that break RFC 7644 §3.5.2 are refused with a SCIM 400."""
    user = scim.create_user("alice")
    body.setdefault("schemas", ["urn:ietf:params:scim:api:messages:2.0:PatchOp"])
    response = scim.request("PATCH", f"/Users/{user['id']}", json=body)
    assert response.status_code == 400
    assert response.get_json()["status"] == "400"


def test_service_provider_config_is_true_to_the_implementation(scim):
    """ServiceProviderConfig advertises patch, filter (with maxResults) and sort; no bulk."""
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["patch"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["sort"]["supported"] is True
    assert config["bulk"]["supported"] is False
    assert config["changePassword"]["supported"] is False
    assert config["etag"]["supported"] is True
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_and_schemas_with_id_forms(scim):
    """ResourceTypes and Schemas list what is served, and each can be fetched by id."""
    types = scim.get("/ResourceTypes").get_json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    user_type = scim.get("/ResourceTypes/User").get_json()
    assert user_type["endpoint"] == "/Users"
    assert user_type["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    schemas = scim.get("/Schemas").get_json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert USER_SCHEMA in ids and "urn:ietf:params:scim:schemas:core:2.0:Group" in ids
    user_schema = scim.get(f"/Schemas/{USER_SCHEMA}").get_json()
    assert any(a["name"] == "userName" for a in user_schema["attributes"])
    assert scim.get("/Schemas/urn:nope").status_code == 404
    assert scim.get("/ResourceTypes/Nope").status_code == 404


def test_entra_directory_uses_its_profile(app, client):
    """The directory's provider selects the tolerance profile (Entra's capitalised ops)."""
    scim = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    user = scim.create_user("alice")
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "Replace", "path": "displayName", "value": "Alice"}]
    )
    assert response.status_code == 200
    assert response.get_json()["displayName"] == "Alice"


def test_etags_if_match_and_if_none_match(scim):
    """meta.version is the ETag; If-Match mismatch is 412 and changes nothing; If-None-Match 304."""
    user = scim.create_user("alice")
    path = f"/Users/{user['id']}"
    version = user["meta"]["version"]
    assert scim.get(path, headers={"If-None-Match": version}).status_code == 304
    assert scim.get(path, headers={"If-None-Match": 'W/"stale"'}).status_code == 200

    stale = {"If-Match": 'W/"stale"'}
    body = {"schemas": [USER_SCHEMA], "userName": "alice", "title": "x"}
    for response in (
        scim.put(path, body, headers=stale),
        scim.patch(path, [{"op": "add", "path": "title", "value": "x"}], headers=stale),
        scim.delete(path, headers=stale),
    ):
        assert response.status_code == 412
        assert response.get_json()["status"] == "412"
    assert "title" not in scim.get(path).get_json()

    updated = scim.put(path, body, headers={"If-Match": version})
    assert updated.status_code == 200
    assert updated.headers["ETag"] == updated.get_json()["meta"]["version"] != version
    assert scim.delete(path, headers={"If-Match": "*"}).status_code == 204


def test_group_etag_changes_with_members_and_answers_304(scim):
    """A group's ETag answers If-None-Match until its members change."""
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("Team")
    path = f"/Groups/{group['id']}"
    assert scim.get(path, headers={"If-None-Match": group["meta"]["version"]}).status_code == 304
    scim.patch(path, [{"op": "add", "path": "members", "value": [{"value": alice}]}])
    assert scim.get(path, headers={"If-None-Match": group["meta"]["version"]}).status_code == 200


def test_patch_error_types(scim):
    """A strict replace on an unmatched filter is noTarget; an unknown path is invalidPath."""
    user = scim.create_user("alice", emails=[{"value": "a@home.example", "type": "home"}])
    path = f"/Users/{user['id']}"
    no_target = scim.patch(
        path, [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@w.example"}]
    )
    assert no_target.status_code == 400
    assert no_target.get_json()["scimType"] == "noTarget"
    unknown = scim.patch(path, [{"op": "replace", "path": "noSuchAttribute", "value": "x"}])
    assert unknown.status_code == 400
    assert unknown.get_json()["scimType"] == "invalidPath"
    bad_value = scim.patch(path, [{"op": "replace", "path": "active", "value": "maybe"}])
    assert bad_value.status_code == 400
    assert bad_value.get_json()["scimType"] == "invalidValue"
    assert scim.get(path).get_json()["emails"] == user["emails"]


def test_disabled_directory_answers_403_and_journals_it(app, directory, scim):
    """`rolecall directory disable` pauses provisioning: 403 until enabled again."""
    user = scim.create_user("alice")
    runner = app.test_cli_runner()
    args = ["--org", directory.org_slug, "--directory", directory.name]
    assert runner.invoke(cli, ["directory", "disable", *args]).exit_code == 0
    for response in (scim.get("/Users"), scim.delete(f"/Users/{user['id']}")):
        assert response.status_code == 403
        assert response.get_json()["status"] == "403"
    with app.app_context():
        last = get_session().scalar(select(JournalEntry).order_by(JournalEntry.id.desc()))
        assert (last.status, last.error_detail) == (403, "directory 'okta' is disabled by an admin")
    assert runner.invoke(cli, ["directory", "enable", *args]).exit_code == 0
    assert scim.get(f"/Users/{user['id']}").status_code == 200


def test_entra_null_attributes_on_create_are_accepted(app, client):
    """Entra may send attributes with null values on create: they are simply absent."""
    scim = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    response = scim.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": "alice",
            "nickName": None,
            "title": None,
            "name": None,
            "emails": None,
        },
    )
    assert response.status_code == 201
    created = response.get_json()
    assert not {"nickName", "title", "name", "emails"} & created.keys()


def test_overlong_values_and_nul_are_400_invalid_value(scim):
    """Values the database cannot hold are refused as invalidValue, never a 500."""
    too_long = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "x" * 300})
    assert too_long.status_code == 400 and too_long.get_json()["scimType"] == "invalidValue"
    assert "longer than 256" in too_long.get_json()["detail"]
    nul = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "a\x00b"})
    assert nul.status_code == 400 and nul.get_json()["scimType"] == "invalidValue"
    in_filter = scim.get("/Users", query_string={"filter": 'userName eq "\\u0000"'})
    assert in_filter.status_code == 400 and in_filter.get_json()["scimType"] == "invalidFilter"
    in_path = scim.get("/Users/a%00b")
    assert in_path.status_code == 400
    assert scim.get("/Users").get_json()["totalResults"] == 0
