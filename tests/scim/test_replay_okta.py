"""Replays of the requests in Okta's SCIM 2.0 protocol reference.

Bodies are copied from Okta's public page (the ids it names are replaced by ids the test
created first), sent with Content-Type: application/json as Okta's client does; every change
is read back with GET.
"""

import pytest

from rbac.models import Provider
from tests.conftest import ScimClient, make_directory

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

OKTA_HEADERS = {"Content-Type": "application/json", "User-Agent": "Okta SCIM Client 1.0.0"}
TEST_USER = "test.user@okta.local"
EXISTS_QUERY = "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100"
PATCH_ANSWERS = (200, 204)


@pytest.fixture
def okta(app, client) -> ScimClient:
    """A SCIM client authenticated as an Okta directory."""
    return ScimClient(client, make_directory(app, name="okta", provider=Provider.OKTA).token)


def _send(okta: ScimClient, method: str, path: str, body=None):
    """Send a request as Okta does: JSON body, Content-Type application/json."""
    return okta.request(method, path, json=body, headers=OKTA_HEADERS)


def _create_user(okta: ScimClient, user_name=TEST_USER) -> dict:
    """POST the reference's Create the User body (password, groups: []); return the user."""
    body = {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    response = _send(okta, "POST", "/Users", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _create_group(okta: ScimClient, display_name="Test SCIMv2") -> dict:
    """POST the reference's Create Groups body (members: []); return the group."""
    body = {"schemas": [GROUP], "displayName": display_name, "members": []}
    response = _send(okta, "POST", "/Groups", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _user(okta: ScimClient, user_id: str) -> dict:
    response = _send(okta, "GET", f"/Users/{user_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _members(okta: ScimClient, group_id: str) -> dict[str, str | None]:
    response = _send(okta, "GET", f"/Groups/{group_id}")
    assert response.status_code == 200, response.get_json()
    return {m["value"]: m.get("display") for m in response.get_json().get("members") or []}


def _deactivate_body(active: bool) -> dict:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": active}}],
    }


# -- Users -----------------------------------------------------------------------------------


# https://developer.okta.com/docs/reference/scim/scim-20/#create-users
def test_create_user_after_checking_it_does_not_exist(okta):
    """Determine if the User exists (empty ListResponse), create it, then the check finds it."""
    response = _send(okta, "GET", EXISTS_QUERY)
    assert response.status_code == 200
    empty = response.get_json()
    assert empty["schemas"] == [LIST_RESPONSE]
    assert empty["totalResults"] == 0
    assert empty["startIndex"] == 1
    assert empty.get("Resources", []) == []

    created = _create_user(okta)
    assert created["id"]
    assert created["userName"] == TEST_USER
    assert created["active"] is True
    assert created["meta"]["resourceType"] == "User"
    assert "password" not in created

    response = _send(okta, "GET", EXISTS_QUERY)
    found = response.get_json()
    assert response.status_code == 200
    assert found["totalResults"] == 1
    assert isinstance(found["startIndex"], int)
    assert isinstance(found["itemsPerPage"], int)
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    assert "password" not in found["Resources"][0]


# https://developer.okta.com/docs/reference/scim/scim-20/#create-the-user
def test_create_existing_user_is_409(okta):
    """Creating a userName that already exists answers 409 with a SCIM Error."""
    _create_user(okta)
    body = {
        "schemas": [USER],
        "userName": TEST_USER,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": TEST_USER, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    response = _send(okta, "POST", "/Users", body)
    assert response.status_code == 409
    error = response.get_json()
    assert error["schemas"] == [ERROR]
    assert error["scimType"] == "uniqueness"
    assert _send(okta, "GET", EXISTS_QUERY).get_json()["totalResults"] == 1


# https://developer.okta.com/docs/reference/scim/scim-20/#retrieve-users
def test_retrieve_users_page_by_page(okta):
    """Retrieve Users: startIndex=1&count=100, and pages of any size never overlap."""
    ids = {_create_user(okta, f"user{n}@okta.local")["id"] for n in range(5)}
    response = _send(okta, "GET", "/Users?startIndex=1&count=100")
    assert response.status_code == 200
    page = response.get_json()
    assert page["totalResults"] == 5
    assert page["startIndex"] == 1
    assert page["itemsPerPage"] == 5
    assert {r["id"] for r in page["Resources"]} == ids
    order = [r["id"] for r in page["Resources"]]
    paged = []
    for start in (1, 3, 5):
        response = _send(okta, "GET", f"/Users?startIndex={start}&count=2")
        body = response.get_json()
        assert body["totalResults"] == 5
        assert body["startIndex"] == start
        paged += [r["id"] for r in body["Resources"]]
    assert paged == order


# https://developer.okta.com/docs/reference/scim/scim-20/#retrieve-a-specific-user
def test_retrieve_a_specific_user(okta):
    """Retrieve a specific User: 200 with the user; an unknown id is 404."""
    created = _create_user(okta)
    user = _user(okta, created["id"])
    assert user["id"] == created["id"]
    assert user["userName"] == TEST_USER
    assert user["name"] == {"givenName": "Test", "familyName": "User"}
    assert user["emails"] == [{"primary": True, "value": TEST_USER, "type": "work"}]
    assert user["displayName"] == "Test User"
    assert user["locale"] == "en-US"
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert user["active"] is True
    assert "password" not in user
    response = _send(okta, "GET", "/Users/23a35c27-23d3-4c03-b4c5-6443c09e7173")
    assert response.status_code == 404
    assert response.get_json()["schemas"] == [ERROR]


# https://developer.okta.com/docs/reference/scim/scim-20/#update-a-specific-user-put
def test_update_user_with_put_carrying_id_meta_and_groups(okta):
    """Update a specific User (PUT): the body echoes id, meta and groups; it must succeed."""
    created = _create_user(okta)
    user_id = created["id"]
    assert _user(okta, user_id)["userName"] == TEST_USER
    body = {
        "schemas": [USER],
        "id": user_id,
        "userName": TEST_USER,
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": True, "value": TEST_USER, "type": "work", "display": TEST_USER}],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    response = _send(okta, "PUT", f"/Users/{user_id}", body)
    assert response.status_code == 200, response.get_json()
    answered = response.get_json()
    assert answered["id"] == user_id
    assert answered["name"]["middleName"] == "Excited"
    user = _user(okta, user_id)
    assert user["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert user["emails"] == [
        {"primary": True, "value": TEST_USER, "type": "work", "display": TEST_USER}
    ]
    assert user["active"] is True
    assert user["meta"]["created"] == created["meta"]["created"]


# https://developer.okta.com/docs/reference/scim/scim-20/#update-a-specific-user-patch
def test_deactivate_then_reactivate_user_with_patch(okta):
    """Deactivate with a path-less replace {"active": false}; the user stays visible; reactivate."""
    created = _create_user(okta)
    path = f"/Users/{created['id']}"
    response = _send(okta, "PATCH", path, _deactivate_body(False))
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    if response.status_code == 200:
        assert response.get_json()["active"] is False
    assert _user(okta, created["id"])["active"] is False
    found = _send(okta, "GET", EXISTS_QUERY).get_json()
    assert [(r["id"], r["active"]) for r in found["Resources"]] == [(created["id"], False)]

    response = _send(okta, "PATCH", path, _deactivate_body(True))
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    user = _user(okta, created["id"])
    assert user["active"] is True
    assert user["name"] == {"givenName": "Test", "familyName": "User"}


# -- Groups ----------------------------------------------------------------------------------


# https://developer.okta.com/docs/reference/scim/scim-20/#create-groups
def test_create_group(okta):
    """Create Groups: displayName and an empty members list; 201 with the group."""
    created = _create_group(okta)
    assert created["id"]
    assert created["displayName"] == "Test SCIMv2"
    assert created.get("members", []) == []
    assert created["meta"]["resourceType"] == "Group"
    group = _send(okta, "GET", f"/Groups/{created['id']}").get_json()
    assert group["displayName"] == "Test SCIMv2"
    assert _members(okta, created["id"]) == {}


# https://developer.okta.com/docs/reference/scim/scim-20/#retrieve-groups
def test_retrieve_groups_page_by_page(okta):
    """Retrieve Groups: startIndex=1&count=100 lists all; count=1 pages walk the same order."""
    ids = [_create_group(okta, f"Test SCIMv2 {n}")["id"] for n in range(3)]
    response = _send(okta, "GET", "/Groups?startIndex=1&count=100")
    assert response.status_code == 200
    page = response.get_json()
    assert page["schemas"] == [LIST_RESPONSE]
    assert page["totalResults"] == 3
    assert page["startIndex"] == 1
    assert page["itemsPerPage"] == 3
    order = [r["id"] for r in page["Resources"]]
    assert set(order) == set(ids)
    paged = []
    for start in (1, 2, 3):
        body = _send(okta, "GET", f"/Groups?startIndex={start}&count=1").get_json()
        assert body["totalResults"] == 3
        paged += [r["id"] for r in body["Resources"]]
    assert paged == order


# https://developer.okta.com/docs/reference/scim/scim-20/#retrieve-specific-groups
def test_retrieve_a_specific_group(okta):
    """Retrieve specific Groups: 200 with members and their display; unknown id is 404."""
    user = _create_user(okta)
    group = _create_group(okta)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": user["id"], "display": "SCIM 2 Group A"}],
            }
        ],
    }
    response = _send(okta, "PATCH", f"/Groups/{group['id']}", body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    response = _send(okta, "GET", f"/Groups/{group['id']}")
    assert response.status_code == 200
    fetched = response.get_json()
    assert fetched["id"] == group["id"]
    assert fetched["displayName"] == "Test SCIMv2"
    assert _members(okta, group["id"]) == {user["id"]: "SCIM 2 Group A"}
    response = _send(okta, "GET", "/Groups/abf4dd94-a4c0-4f67-89c9-76b03340cb9b")
    assert response.status_code == 404


# https://developer.okta.com/docs/reference/scim/scim-20/#update-a-specific-group-name
def test_update_group_name_with_patch_carrying_id(okta):
    """Update a specific Group name (PATCH): a path-less replace whose value carries the id."""
    user = _create_user(okta)
    group = _create_group(okta)
    group_id = group["id"]
    _send(
        okta,
        "PATCH",
        f"/Groups/{group_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
        },
    )
    # As sent with every membership update: the same name again.
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": "Test SCIMv2"}}],
    }
    response = _send(okta, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _send(okta, "GET", f"/Groups/{group_id}").get_json()["displayName"] == "Test SCIMv2"
    # The rename the reference's response shows.
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": "Test SCIMv20"}}],
    }
    response = _send(okta, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    fetched = _send(okta, "GET", f"/Groups/{group_id}").get_json()
    assert fetched["id"] == group_id
    assert fetched["displayName"] == "Test SCIMv20"
    assert set(_members(okta, group_id)) == {user["id"]}


# https://developer.okta.com/docs/reference/scim/scim-20/#update-a-specific-group-name
def test_update_group_name_with_put(okta):
    """Update a specific Group name (PUT, AIW apps): the group as GET shows it, renamed."""
    user = _create_user(okta)
    group = _create_group(okta)
    group_id = group["id"]
    _send(
        okta,
        "PATCH",
        f"/Groups/{group_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": user["id"], "display": TEST_USER}],
                }
            ],
        },
    )
    # The reference shows no PUT body for groups; this is its GET response shape, renamed.
    body = {
        "schemas": [GROUP],
        "id": group_id,
        "displayName": "Test SCIMv20",
        "members": [{"value": user["id"], "display": TEST_USER}],
        "meta": {"resourceType": "Group"},
    }
    response = _send(okta, "PUT", f"/Groups/{group_id}", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["displayName"] == "Test SCIMv20"
    fetched = _send(okta, "GET", f"/Groups/{group_id}").get_json()
    assert fetched["displayName"] == "Test SCIMv20"
    assert _members(okta, group_id) == {user["id"]: TEST_USER}


# https://developer.okta.com/docs/reference/scim/scim-20/#update-specific-group-membership
def test_update_group_membership_remove_by_filter_and_add(okta):
    """Update specific Group membership: remove members[value eq "id"] and add, in one PATCH."""
    added = _create_user(okta)
    removed = _create_user(okta, "removed.user@okta.local")
    kept = _create_user(okta, "kept.user@okta.local")
    group = _create_group(okta)
    group_id = group["id"]
    response = _send(
        okta,
        "PATCH",
        f"/Groups/{group_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": removed["id"]}, {"value": kept["id"]}],
                }
            ],
        },
    )
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{removed["id"]}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": added["id"], "display": "test.user@okta.local"}],
            },
        ],
    }
    response = _send(okta, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    members = _members(okta, group_id)
    assert set(members) == {added["id"], kept["id"]}
    assert members[added["id"]] == "test.user@okta.local"


# https://developer.okta.com/docs/reference/scim/scim-20/#update-specific-group-membership
def test_update_group_membership_full_push_with_replace(okta):
    """A full push of the membership: replace members with exactly the listed users."""
    first = _create_user(okta)
    second = _create_user(okta, "second.user@okta.local")
    dropped = _create_user(okta, "dropped.user@okta.local")
    group = _create_group(okta)
    group_id = group["id"]
    _send(
        okta,
        "PATCH",
        f"/Groups/{group_id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": dropped["id"]}]}],
        },
    )
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "replace",
                "path": "members",
                "value": [
                    {"value": first["id"], "display": "test.user@okta.local"},
                    {"value": second["id"], "display": "test.user@okta.local"},
                ],
            }
        ],
    }
    response = _send(okta, "PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert set(_members(okta, group_id)) == {first["id"], second["id"]}


# https://developer.okta.com/docs/reference/scim/scim-20/#retrieve-specific-groups
def test_add_unknown_member_is_400_invalid_value(okta):
    """The reference's member id, never created here, is refused with 400 invalidValue."""
    group = _create_group(okta)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": "b1c794f24f4c49f4b5d503a4cb2686ea", "display": "SCIM 2 Group A"}
                ],
            }
        ],
    }
    response = _send(okta, "PATCH", f"/Groups/{group['id']}", body)
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert _members(okta, group["id"]) == {}


# https://developer.okta.com/docs/reference/scim/scim-20/#delete-a-specific-group
def test_delete_group(okta):
    """Delete a specific Group: 204 with no body; GET is 404; its members remain users."""
    user = _create_user(okta)
    group = _create_group(okta)
    _send(
        okta,
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
        },
    )
    response = _send(okta, "DELETE", f"/Groups/{group['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert _send(okta, "GET", f"/Groups/{group['id']}").status_code == 404
    assert _user(okta, user["id"])["userName"] == TEST_USER
