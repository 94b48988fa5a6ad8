"""Replays of the requests Microsoft documents for its Entra ID provisioning service.

Bodies are copied from Microsoft's public pages and its SCIM reference code's Postman collection
(the ids they name are replaced by ids the test created first); every change is read back with GET.
"""

import pytest
from sqlalchemy import select

from rbac import models
from rbac.journal import recent_requests
from rbac.models import Provider
from tests.conftest import Directory, ScimClient, make_directory
from web.db import get_session

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

TEST_USER_NAME = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
TEST_USER_EMAIL = "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
PATCH_ANSWERS = (200, 204)


@pytest.fixture
def entra_directory(app) -> Directory:
    """An Entra ID directory of organization acme."""
    return make_directory(app, name="entra", provider=Provider.ENTRA)


@pytest.fixture
def entra(client, entra_directory) -> ScimClient:
    """A SCIM client authenticated as an Entra ID directory."""
    return ScimClient(client, entra_directory.token)


def _create_tutorial_user(entra: ScimClient, user_name=TEST_USER_NAME, email=TEST_USER_EMAIL):
    """POST the tutorial's Create User body; return the created user."""
    body = {
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    }
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _create_tutorial_group(entra: ScimClient, display_name="displayName"):
    """POST the tutorial's Create Group body (with Entra's extra schema URI); return it."""
    body = {
        "schemas": [GROUP, ENTRA_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }
    response = entra.request("POST", "/Groups", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _user(entra: ScimClient, user_id: str) -> dict:
    response = entra.get(f"/Users/{user_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _work_emails(user: dict) -> list[str]:
    return [e["value"] for e in user.get("emails", []) if e.get("type") == "work"]


def _last_tolerances(app, directory: Directory) -> list[str]:
    """Return the tolerances the journal names on the directory's newest request."""
    with app.app_context():
        return recent_requests(get_session(), directory.id, limit=1)[0].tolerances


def _stored_attributes(app, user_id: str) -> dict:
    """Return the attributes document stored for a user, as the database holds it."""
    with app.app_context():
        return (
            get_session()
            .scalars(select(models.User.attributes).where(models.User.id == user_id))
            .one()
        )


def _find_users(entra: ScimClient, filter_: str) -> dict:
    response = entra.get("/Users", query_string={"filter": filter_})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- User operations -------------------------------------------------------------------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#create-user
def test_create_user(entra):
    """Create User: 201 with an id, and GET shows every attribute sent."""
    created = _create_tutorial_user(entra)
    assert created["id"]
    assert created["userName"] == TEST_USER_NAME
    assert created["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert created["meta"]["resourceType"] == "User"
    user = _user(entra, created["id"])
    assert user["userName"] == TEST_USER_NAME
    assert user["active"] is True
    assert user["name"]["givenName"] == "givenName"
    assert user["name"]["familyName"] == "familyName"
    assert user["name"]["formatted"] == "givenName familyName"
    assert user["emails"] == [{"primary": True, "type": "work", "value": TEST_USER_EMAIL}]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#get-user
def test_get_user_found_and_not_found(entra):
    """Get User: 200 with the user, and 404 with a SCIM Error for an unknown id."""
    created = _create_tutorial_user(entra)
    user = _user(entra, created["id"])
    assert user["id"] == created["id"]
    assert user["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    response = entra.get("/Users/5171a35d82074e068ce2")
    assert response.status_code == 404
    error = response.get_json()
    assert error["schemas"] == [ERROR]
    assert str(error["status"]) == "404"


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#get-user-by-query
def test_get_user_by_query(entra):
    """Get User by query: filter userName eq answers a ListResponse with that one user."""
    created = _create_tutorial_user(entra)
    _create_tutorial_user(entra, "someone.else@testuser.com", "someone.else@testuser.com")
    found = _find_users(entra, f'userName eq "{TEST_USER_NAME}"')
    assert found["schemas"] == [LIST_RESPONSE]
    assert found["totalResults"] == 1
    assert found["startIndex"] == 1
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    assert found["Resources"][0]["userName"] == TEST_USER_NAME
    assert found["Resources"][0]["emails"][0]["value"] == TEST_USER_EMAIL


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#get-user-by-query---zero-results
def test_get_user_by_query_zero_results(entra):
    """Get User by query - zero results: 200 and an empty ListResponse, not 404."""
    _create_tutorial_user(entra)
    found = _find_users(entra, 'userName eq "non-existent user"')
    assert found["schemas"] == [LIST_RESPONSE]
    assert found["totalResults"] == 0
    assert found.get("Resources", []) == []


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#update-user-multi-valued-properties
def test_update_user_multi_valued_properties(entra):
    """Update User [Multi-valued properties]: Replace on emails[type eq "work"].value."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    user = _user(entra, created["id"])
    assert _work_emails(user) == ["updatedEmail@microsoft.com"]
    assert user["emails"][0]["primary"] is True
    assert user["name"]["familyName"] == "updatedFamilyName"
    assert user["name"]["givenName"] == "givenName"
    found = _find_users(entra, 'emails[type eq "work"].value eq "updatedEmail@microsoft.com"')
    assert [r["id"] for r in found["Resources"]] == [created["id"]]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#update-user-single-valued-properties
def test_update_user_single_valued_properties(entra):
    """Update User [Single-valued properties]: Replace userName; filters see the new name."""
    created = _create_tutorial_user(entra)
    new_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "userName", "value": new_name}],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    user = _user(entra, created["id"])
    assert user["userName"] == new_name
    assert _work_emails(user) == [TEST_USER_EMAIL]
    assert _find_users(entra, f'userName eq "{new_name}"')["totalResults"] == 1
    assert _find_users(entra, f'userName eq "{TEST_USER_NAME}"')["totalResults"] == 0


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#disable-user
def test_disable_user(entra):
    """Disable User: Replace active false; GET and filters still return the inactive user."""
    created = _create_tutorial_user(entra)
    body = {
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
        "schemas": [PATCH_OP],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _user(entra, created["id"])["active"] is False
    found = _find_users(entra, f'userName eq "{TEST_USER_NAME}"')
    assert [(r["id"], r["active"]) for r in found["Resources"]] == [(created["id"], False)]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#delete-user
def test_delete_user(entra):
    """Delete User: 204, then GET is 404 and the userName filter finds nothing."""
    created = _create_tutorial_user(entra)
    response = entra.delete(f"/Users/{created['id']}")
    assert response.status_code == 204
    assert entra.get(f"/Users/{created['id']}").status_code == 404
    assert _find_users(entra, f'userName eq "{TEST_USER_NAME}"')["totalResults"] == 0


# -- Group operations ------------------------------------------------------------------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#create-group
def test_create_group_with_entra_schema_uri(entra):
    """Create Group: Entra's extra ADSCIM schema URI is accepted; the group has no members."""
    created = _create_tutorial_group(entra)
    assert created["id"]
    assert created["displayName"] == "displayName"
    assert created["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert created.get("members", []) == []
    group = entra.get(f"/Groups/{created['id']}").get_json()
    assert group["schemas"] == [GROUP]
    assert group["displayName"] == "displayName"
    assert group["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert entra.member_ids(created["id"]) == set()


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#get-group
def test_get_group_excluding_members(entra):
    """Get Group: ?excludedAttributes=members answers the group without its members."""
    user = _create_tutorial_user(entra)
    created = _create_tutorial_group(entra)
    entra.patch(
        f"/Groups/{created['id']}",
        [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
    )
    response = entra.get(f"/Groups/{created['id']}?excludedAttributes=members")
    assert response.status_code == 200
    group = response.get_json()
    assert group["id"] == created["id"]
    assert group["displayName"] == "displayName"
    assert group["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert "members" not in group
    assert entra.member_ids(created["id"]) == {user["id"]}


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#get-group-by-displayname
def test_get_group_by_display_name(entra):
    """Get Group by displayName: excludedAttributes=members and a displayName eq filter."""
    user = _create_tutorial_user(entra)
    created = _create_tutorial_group(entra)
    _create_tutorial_group(entra, "another group")
    entra.patch(
        f"/Groups/{created['id']}",
        [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
    )
    response = entra.get(
        "/Groups",
        query_string={"excludedAttributes": "members", "filter": 'displayName eq "displayName"'},
    )
    assert response.status_code == 200
    found = response.get_json()
    assert found["schemas"] == [LIST_RESPONSE]
    assert found["totalResults"] == 1
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    assert found["Resources"][0]["displayName"] == "displayName"
    assert "members" not in found["Resources"][0]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#update-group-non-member-attributes
def test_update_group_non_member_attributes(entra):
    """Update Group [Non-member attributes]: Replace displayName; GET shows the new name."""
    created = _create_tutorial_group(entra)
    new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "displayName", "value": new_name}],
    }
    response = entra.request("PATCH", f"/Groups/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.get(f"/Groups/{created['id']}").get_json()["displayName"] == new_name
    response = entra.get("/Groups", query_string={"filter": f'displayName eq "{new_name}"'})
    assert [r["id"] for r in response.get_json()["Resources"]] == [created["id"]]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#update-group-add-members
def test_update_group_add_members(entra):
    """Update Group [Add Members]: "Add" with a {"$ref": null, "value": id} member."""
    user = _create_tutorial_user(entra)
    created = _create_tutorial_group(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}
        ],
    }
    response = entra.request("PATCH", f"/Groups/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.member_ids(created["id"]) == {user["id"]}


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#update-group-remove-members
def test_update_group_remove_members(entra):
    """Update Group [Remove Members]: "Remove" with a value list removes only those members."""
    removed = _create_tutorial_user(entra)
    kept = _create_tutorial_user(entra, "kept@testuser.com", "kept@testuser.com")
    created = _create_tutorial_group(entra)
    entra.patch(
        f"/Groups/{created['id']}",
        [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": removed["id"]}, {"value": kept["id"]}],
            }
        ],
    )
    assert entra.member_ids(created["id"]) == {removed["id"], kept["id"]}
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": removed["id"]}]}
        ],
    }
    response = entra.request("PATCH", f"/Groups/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.member_ids(created["id"]) == {kept["id"]}


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#delete-group
def test_delete_group(entra):
    """Delete Group: 204, then GET is 404; its members are still users."""
    user = _create_tutorial_user(entra)
    created = _create_tutorial_group(entra)
    entra.patch(
        f"/Groups/{created['id']}",
        [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
    )
    response = entra.delete(f"/Groups/{created['id']}")
    assert response.status_code == 204
    assert entra.get(f"/Groups/{created['id']}").status_code == 404
    assert _user(entra, user["id"])["userName"] == TEST_USER_NAME


# -- Known issues: requests sent without the aadOptscim062020 flag (and with it) ----------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_disable_user_with_string_false(entra):
    """Disable without the flag: "Replace" active with the string "False" deactivates the user."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _user(entra, created["id"])["active"] is False
    found = _find_users(entra, f'userName eq "{TEST_USER_NAME}"')
    assert [(r["id"], r["active"]) for r in found["Resources"]] == [(created["id"], False)]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_add_single_value_string_attribute(entra):
    """Add a single-value string attribute without the flag: "Add" nickName "Babs"."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "nickName", "value": "Babs"}],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _user(entra, created["id"])["nickName"] == "Babs"


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_replace_multiple_attributes_one_path_each(entra):
    """Replace multiple attributes without the flag: one capitalised "Replace" per path."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestBcwqnm@test.microsoft.com",
            },
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        ],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    user = _user(entra, created["id"])
    assert user["displayName"] == "Pvlo"
    assert _work_emails(user) == ["TestBcwqnm@test.microsoft.com"]
    assert user["name"]["givenName"] == "Gtfd"
    assert user["name"]["familyName"] == "Pkqf"
    assert user["externalId"] == "Eqpj"
    assert user[ENTERPRISE]["employeeNumber"] == "Eqpj"
    assert [r["id"] for r in _find_users(entra, 'externalId eq "Eqpj"')["Resources"]] == [
        created["id"]
    ]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_replace_multiple_attributes_path_less_dotted_keys(entra):
    """Replace multiple attributes with the flag: path-less, keyed by dotted and URN paths."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestMhvaes@test.microsoft.com",
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENTERPRISE}:employeeNumber": "Aklq",
                },
            },
        ],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    user = _user(entra, created["id"])
    assert _work_emails(user) == ["TestMhvaes@test.microsoft.com"]
    assert user["displayName"] == "Bjfe"
    assert user["name"]["givenName"] == "Kkom"
    assert user["name"]["familyName"] == "Unua"
    assert user[ENTERPRISE]["employeeNumber"] == "Aklq"
    assert "name.givenName" not in user
    assert f"{ENTERPRISE}:employeeNumber" not in user


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_remove_member_with_value_list(entra):
    """Remove a group member without the flag: "Remove" members with a value list of one."""
    users = [
        _create_tutorial_user(entra, f"u{n}@testuser.com", f"u{n}@testuser.com")["id"]
        for n in range(3)
    ]
    group = _create_tutorial_group(entra)
    entra.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": u} for u in users]}],
    )
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": users[1]}]}],
    }
    response = entra.request("PATCH", f"/Groups/{group['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.member_ids(group["id"]) == {users[0], users[2]}


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_remove_member_with_value_filter(entra):
    """Remove a group member with the flag: "remove" on members[value eq "id"]."""
    users = [
        _create_tutorial_user(entra, f"u{n}@testuser.com", f"u{n}@testuser.com")["id"]
        for n in range(2)
    ]
    group = _create_tutorial_group(entra)
    entra.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": u} for u in users]}],
    )
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{users[0]}"]'}],
    }
    response = entra.request("PATCH", f"/Groups/{group['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.member_ids(group["id"]) == {users[1]}


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#update-group-add-members
def test_add_unknown_member_is_400_invalid_value(entra):
    """The tutorial's member id, never created here, is refused with 400 invalidValue."""
    group = _create_tutorial_group(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}],
            }
        ],
    }
    response = entra.request("PATCH", f"/Groups/{group['id']}", json=body)
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert entra.member_ids(group["id"]) == set()


# -- Manager and filtered add paths -------------------------------------------------------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#design-your-user-and-group-schema
def test_create_user_with_bare_manager_id(entra):
    """The tutorial's schema example: the enterprise manager is a bare id string."""
    manager = _create_tutorial_user(entra, "manager@testuser.com", "manager@testuser.com")
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "bjensen@testuser.com",
        "externalId": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        ENTERPRISE: {"manager": manager["id"]},
    }
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    user = _user(entra, response.get_json()["id"])
    assert user[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert user[ENTERPRISE]["manager"]["$ref"].endswith(f"/Users/{manager['id']}")
    assert user["name"] == {"familyName": "Jensen", "givenName": "Barbara"}


# https://learn.microsoft.com/en-us/answers/questions/188003/scim-user-provisioning-setup-with-manager-attribut
def test_patch_bare_manager_id(entra):
    """Entra sends "urn:...:enterprise:2.0:User:manager": "user-id"; add it, then replace it."""
    first = _create_tutorial_user(entra, "first.manager@testuser.com", "first@testuser.com")
    second = _create_tutorial_user(entra, "second.manager@testuser.com", "second@testuser.com")
    created = _create_tutorial_user(entra)
    path = f"/Users/{created['id']}"
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": first["id"]}],
    }
    response = entra.request("PATCH", path, json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _user(entra, created["id"])[ENTERPRISE]["manager"]["value"] == first["id"]
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": second["id"]}],
    }
    response = entra.request("PATCH", path, json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    manager = _user(entra, created["id"])[ENTERPRISE]["manager"]
    assert manager["value"] == second["id"]
    assert manager["$ref"].endswith(f"/Users/{second['id']}")


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#handling-provisioning-and-deprovisioning-of-users
def test_patch_manager_example_5_value_list(entra):
    """Example 5: "Add" on path "manager" with a one-element list of {"$ref", "value"}."""
    manager = _create_tutorial_user(entra, "manager@testuser.com", "manager@testuser.com")
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Add",
                "path": "manager",
                "value": [{"$ref": manager["meta"]["location"], "value": manager["id"]}],
            }
        ],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _user(entra, created["id"])[ENTERPRISE]["manager"]["value"] == manager["id"]


# https://github.com/Metatavu/keycloak-scim-server/issues/35
def test_add_on_filtered_email_path_creates_the_work_email(entra):
    """Entra's "Add" on emails[type eq "work"].value for users with no work email creates it."""
    body = {"schemas": [USER], "userName": "no.email@testuser.com"}
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    bare = response.get_json()
    body = {
        "schemas": [USER],
        "userName": "home.only@testuser.com",
        "emails": [{"type": "home", "value": "home@example.com"}],
    }
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    home_only = response.get_json()
    for user_id, address in (
        (bare["id"], "bare@outlook.com"),
        (home_only["id"], "home@outlook.com"),
    ):
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Add", "path": 'emails[type eq "work"].value', "value": address}],
        }
        response = entra.request("PATCH", f"/Users/{user_id}", json=body)
        assert response.status_code in PATCH_ANSWERS, response.get_json()
        assert _work_emails(_user(entra, user_id)) == [address]
    home = _user(entra, home_only["id"])
    assert [e["value"] for e in home["emails"] if e.get("type") == "home"] == ["home@example.com"]
    found = _find_users(entra, 'emails[type eq "work"].value eq "bare@outlook.com"')
    assert [r["id"] for r in found["Resources"]] == [bare["id"]]


# -- Handling provisioning and deprovisioning of users: Examples 1 to 4 --------------------------


def _provision_jyoung(entra: ScimClient):
    """POST Example 2's body verbatim: its misspelt extension URN and top-level nulls too."""
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        ],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "addresses": None,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": None,
        "preferredLanguage": None,
        "title": None,
        "department": None,
        "manager": None,
    }
    return entra.request("POST", "/Users", json=body)


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#handling-provisioning-and-deprovisioning-of-users
# (Example 1. Query the service for a matching user; Example 2. Provision a user;
# Example 3. Query the current state of a user)
def test_example_2_provision_a_user_with_null_enterprise_attributes_at_top_level(
    app, entra, entra_directory
):
    """Examples 1-3: query, provision (top-level null department/manager ignored), read back."""
    assert _find_users(entra, 'externalId eq "jyoung"')["totalResults"] == 0
    response = _provision_jyoung(entra)
    assert response.status_code == 201, response.get_json()
    assert "entra:null-unknown-attributes" in _last_tolerances(app, entra_directory)
    created = response.get_json()
    user = _user(entra, created["id"])
    for shown in (created, user):
        assert "department" not in shown and "manager" not in shown
        assert not shown.get(ENTERPRISE)
        for core_null in ("addresses", "phoneNumbers", "preferredLanguage", "title"):
            assert core_null not in shown
    stored = _stored_attributes(app, created["id"])
    assert "department" not in stored and "manager" not in stored
    assert user["userName"] == "jyoung@testuser.com"
    assert user["externalId"] == "jyoung"
    assert user["displayName"] == "Joy Young"
    assert user["active"] is True
    assert user["name"] == {"familyName": "Young", "givenName": "Joy"}
    # RFC 7643 §4.1.2: the email value "SHOULD be canonicalized by the service provider, e.g.,
    # 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'" (scim2-models lowercases the
    # domain); the local part, the only case-sensitive part, is kept as sent.
    assert user["emails"] == [{"type": "work", "value": "jyoung@contoso.com", "primary": True}]
    found = _find_users(entra, 'externalId eq "jyoung"')
    assert [r["id"] for r in found["Resources"]] == [created["id"]]


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#handling-provisioning-and-deprovisioning-of-users
# (Example 1 prints the value unquoted: GET .../scim/Users?filter=externalId eq jyoung)
def test_example_1_unquoted_value_is_an_invalid_filter_not_a_wider_result(entra):
    """Example 1 as printed: an unquoted value is 400 invalidFilter (RFC 7644 §3.4.2.2)."""
    _create_tutorial_user(entra)
    response = entra.get("/Users", query_string={"filter": "externalId eq jyoung"})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["scimType"] == "invalidFilter"


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#handling-provisioning-and-deprovisioning-of-users
# (Example 4. Query the value of a reference attribute to be updated: the page names the
# filters id and manager and the requested attribute id; earlier revisions of the page print
# GET ~/scim/Users?filter=id eq {id} and manager eq {manager id}&attributes=id, values unquoted)
def test_example_4_query_the_manager_before_updating_it(entra):
    """Example 4: "id eq … and manager eq …" with attributes=id finds the user iff it matches."""
    manager = _create_tutorial_user(entra, "manager@testuser.com", "manager@testuser.com")
    other = _create_tutorial_user(entra, "other@testuser.com", "other@testuser.com")
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]}],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    for candidate, expected in ((manager["id"], [created["id"]]), (other["id"], [])):
        response = entra.get(
            "/Users",
            query_string={
                "filter": f'id eq "{created["id"]}" and manager eq "{candidate}"',
                "attributes": "id",
            },
        )
        assert response.status_code == 200, response.get_json()
        resources = response.get_json().get("Resources", [])
        assert [r["id"] for r in resources] == expected
        assert response.get_json()["totalResults"] == len(expected)
        assert all(set(r) <= {"id", "schemas"} for r in resources)


# -- Schema discovery --------------------------------------------------------------------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups#discover-schema
def test_discover_schema(entra):
    """Discover schema: GET /Schemas lists User, Group and the enterprise extension."""
    response = entra.get("/Schemas")
    assert response.status_code == 200, response.get_json()
    listing = response.get_json()
    assert listing["schemas"] == [LIST_RESPONSE]
    assert listing["totalResults"] == len(listing["Resources"])
    schemas = {s["id"]: s for s in listing["Resources"]}
    assert {USER, GROUP, ENTERPRISE} <= set(schemas)
    user_name = next(a for a in schemas[USER]["attributes"] if a["name"] == "userName")
    assert user_name["type"] == "string"
    assert user_name["required"] is True
    assert user_name["caseExact"] is False
    assert user_name["uniqueness"] == "server"
    display_name = next(a for a in schemas[GROUP]["attributes"] if a["name"] == "displayName")
    assert display_name["type"] == "string"
    employee_number = next(
        a for a in schemas[ENTERPRISE]["attributes"] if a["name"] == "employeeNumber"
    )
    assert employee_number["type"] == "string"
    assert employee_number["mutability"] == "readWrite"


# -- Using SCIM and Microsoft Graph together ---------------------------------------------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/scim-graph-scenarios#scenario-1-automatically-create-users-in-my-app
def test_scenario_1_create_user_without_emails(entra):
    """Scenario 1: the BillG create body (no emails, empty roles) makes the user."""
    body = {
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "BillG",
        "active": True,
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Bill Gates", "familyName": "Gates", "givenName": "Bill"},
        "roles": [],
    }
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    user = _user(entra, response.get_json()["id"])
    assert user["userName"] == "BillG"
    assert user["active"] is True
    assert user["name"] == {"formatted": "Bill Gates", "familyName": "Gates", "givenName": "Bill"}
    assert user.get("emails", []) == []
    assert [r["id"] for r in _find_users(entra, 'userName eq "billg"')["Resources"]] == [user["id"]]


# -- Known issues: requests sent with the aadOptscim062020 flag ---------------------------------


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_disable_user_with_flag(app, entra, entra_directory):
    """Disable with the flag: lowercase "replace" active false; no tolerance fires."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _last_tolerances(app, entra_directory) == []
    assert _user(entra, created["id"])["active"] is False


# https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility#flags-to-alter-the-scim-behavior
def test_known_issue_add_single_value_string_attribute_with_flag(app, entra, entra_directory):
    """Add a single-value string attribute with the flag: lowercase "add" nickName "Babs"."""
    created = _create_tutorial_user(entra)
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "nickName", "value": "Babs"}],
    }
    response = entra.request("PATCH", f"/Users/{created['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _last_tolerances(app, entra_directory) == []
    assert _user(entra, created["id"])["nickName"] == "Babs"


# -- Microsoft's SCIM reference code: its Postman collection -----------------------------------
# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json ("SCIM Tests",
# the sample requests the tutorial's "Build a SCIM endpoint" section points to). Its
# "{{$guid}}" externalIds are a fixed GUID here; its "{{idN}}" are ids the test created.

REFERENCE_GUID = "8d3e5c1a-6f0b-4a8e-9d2c-7b1f0e4a3c55"


def _reference_user(user_name: str, schemas=(USER,)) -> dict:
    """The body the collection's "User tests" and "Group tests" folders POST, with this name."""
    return {
        "userName": user_name,
        "active": True,
        "displayName": "lennay",
        "schemas": list(schemas),
        "externalId": REFERENCE_GUID,
        "name": {"formatted": "Adrew Ryan", "familyName": "Ryan", "givenName": "Andrew"},
        "emails": [
            {"Primary": True, "type": "work", "value": "testing@bob2.com"},
            {"Primary": False, "type": "home", "value": "testinghome@bob3.com"},
        ],
    }


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("User tests": "Post User", "Get user1", "Get User Attributes", "patch user1")
def test_reference_post_user_with_capitalised_primary(entra):
    """Post User: sub-attribute names are case-insensitive ("Primary"); then read and patch."""
    body = {
        "userName": "UserName123",
        "active": True,
        "displayName": "BobIsAmazing",
        "schemas": [USER],
        "externalId": REFERENCE_GUID,
        "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
        "emails": [
            {"Primary": True, "type": "work", "value": "testing@bob.com"},
            {"Primary": False, "type": "home", "value": "testinghome@bob.com"},
        ],
    }
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    user = _user(entra, response.get_json()["id"])
    assert user["emails"] == [
        {"primary": True, "type": "work", "value": "testing@bob.com"},
        {"primary": False, "type": "home", "value": "testinghome@bob.com"},
    ]
    assert user["displayName"] == "BobIsAmazing"
    response = entra.get("/Users", query_string={"attributes": "userName,emails"})
    assert response.status_code == 200, response.get_json()
    [listed] = response.get_json()["Resources"]
    assert set(listed) == {"id", "schemas", "userName", "emails"}
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "userName", "value": "ryan3"}],
    }
    response = entra.request("PATCH", f"/Users/{user['id']}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert _user(entra, user["id"])["userName"] == "ryan3"


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("User tests": "Get User Filters", GET .../Users/?filter=DisplayName+eq+%22BobIsAmazing%22)
def test_reference_filter_on_users_with_trailing_slash(entra):
    """Get User Filters: /Users/ (trailing slash) with a capitalised attribute name finds it."""
    created = _create_tutorial_user(entra)
    entra.patch(
        f"/Users/{created['id']}", [{"op": "add", "path": "displayName", "value": "BobIsAmazing"}]
    )
    response = entra.get("/Users/", query_string={"filter": 'DisplayName eq "BobIsAmazing"'})
    assert response.status_code == 200, response.get_json()
    assert [r["id"] for r in response.get_json()["Resources"]] == [created["id"]]


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("User tests": "Post EnterpriseUser", "Get user2")
def test_reference_post_enterprise_user_with_capitalised_extension_keys(entra):
    """Post EnterpriseUser: "Department" and "Manager": {"Value": …} are read case-insensitively."""
    body = {
        "userName": "UserName222",
        "active": True,
        "displayName": "lennay",
        "schemas": [ENTERPRISE, USER],
        "externalId": REFERENCE_GUID,
        "name": {"formatted": "Adrew Ryan", "familyName": "Ryan", "givenName": "Andrew"},
        "emails": [
            {"Primary": True, "type": "work", "value": "testing@bob2.com"},
            {"Primary": False, "type": "home", "value": "testinghome@bob3.com"},
        ],
        ENTERPRISE: {"Department": "bob", "Manager": {"Value": "SuzzyQ"}},
    }
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 201, response.get_json()
    user = _user(entra, response.get_json()["id"])
    assert user[ENTERPRISE]["department"] == "bob"
    assert user[ENTERPRISE]["manager"]["value"] == "SuzzyQ"


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("User tests": "User 2 replace test", "Get user2 Check replace", "Delete user2")
def test_reference_put_replaces_the_user_and_keeps_values_as_sent(entra):
    """User 2 replace test: PUT with id and "Primary"; values kept as sent (emails canonical)."""
    response = entra.request(
        "POST", "/Users", json=_reference_user("UserName222", (ENTERPRISE, USER))
    )
    assert response.status_code == 201, response.get_json()
    user_id = response.get_json()["id"]
    body = {
        "userName": "UserNameReplace2",
        "active": True,
        "displayName": "BobIsAmazing",
        "schemas": [ENTERPRISE, USER],
        "id": user_id,
        "externalId": REFERENCE_GUID,
        "name": {"formatted": "NewName", "familyName": "Leenay", "givenName": "Ryan"},
        "emails": [
            {"Primary": True, "type": "work", "value": "testing@bobREPLACE.com"},
            {"Primary": False, "type": "home", "value": "testinghome@bob.com"},
        ],
    }
    response = entra.request("PUT", f"/Users/{user_id}", json=body)
    assert response.status_code == 200, response.get_json()
    user = _user(entra, user_id)
    assert user["userName"] == "UserNameReplace2"
    assert user["name"] == {"formatted": "NewName", "familyName": "Leenay", "givenName": "Ryan"}
    # RFC 7643 §4.1.2: email domains are canonicalized (lowercased).
    assert user["emails"] == [
        {"primary": True, "type": "work", "value": "testing@bobreplace.com"},
        {"primary": False, "type": "home", "value": "testinghome@bob.com"},
    ]
    assert entra.delete(f"/Users/{user_id}").status_code == 204


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("Group tests": "Create empty group", "Create filled group 2", "Create group 3",
# "Put replace group3", "Patch remove user4 to group1", "Patch remove all users")
def test_reference_group_lifecycle(entra):
    """Group tests: create empty and filled groups, PUT the members, remove one, remove all."""
    id3 = entra.request("POST", "/Users", json=_reference_user("UserName333", (ENTERPRISE, USER)))
    id4 = entra.request("POST", "/Users", json=_reference_user("UserName444", (ENTERPRISE, USER)))
    assert (id3.status_code, id4.status_code) == (201, 201)
    id3, id4 = id3.get_json()["id"], id4.get_json()["id"]
    body = {
        "externalId": REFERENCE_GUID,
        "schemas": [GROUP],
        "displayName": "Group1DisplayName",
        "members": [],
    }
    group1 = entra.request("POST", "/Groups", json=body)
    assert group1.status_code == 201, group1.get_json()
    group1 = group1.get_json()["id"]
    body = {
        "schemas": [GROUP],
        "externalId": REFERENCE_GUID,
        "displayName": "GroupDisplayName2",
        "members": [{"value": id3, "display": "VP"}],
    }
    group2 = entra.request("POST", "/Groups", json=body)
    assert group2.status_code == 201, group2.get_json()
    assert entra.member_ids(group2.get_json()["id"]) == {id3}
    body = {
        "schemas": [GROUP],
        "externalId": REFERENCE_GUID,
        "displayName": "GroupDisplayName3",
        "members": [],
    }
    group3 = entra.request("POST", "/Groups", json=body)
    assert group3.status_code == 201, group3.get_json()
    group3 = group3.get_json()["id"]
    body = {
        "schemas": [GROUP],
        "id": group3,
        "displayName": "putName",
        "members": [{"value": id3, "display": "VP"}, {"value": id4, "display": "SenorVP"}],
    }
    response = entra.request("PUT", f"/Groups/{group3}", json=body)
    assert response.status_code == 200, response.get_json()
    group = entra.get(f"/Groups/{group3}").get_json()
    assert group["displayName"] == "putName"
    assert {(m["value"], m["display"]) for m in group["members"]} == {
        (id3, "VP"),
        (id4, "SenorVP"),
    }
    entra.patch(f"/Groups/{group1}", [{"op": "add", "path": "members", "value": [{"value": id4}]}])
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{id4}"]'}],
    }
    response = entra.request("PATCH", f"/Groups/{group1}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.member_ids(group1) == set()
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}
    response = entra.request("PATCH", f"/Groups/{group3}", json=body)
    assert response.status_code in PATCH_ANSWERS, response.get_json()
    assert entra.member_ids(group3) == set()
    assert {_user(entra, i)["userName"] for i in (id3, id4)} == {"UserName333", "UserName444"}


def _omalley(user_name="OMalley", active=True) -> dict:
    """The "User tests with garbage" folder's full user, with this userName and active."""
    return {
        "userName": user_name,
        "active": active,
        "addresses": [
            {
                "country": "Bermuda",
                "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
                "locality": "West Mercedes",
                "postalCode": "99265",
                "region": "Montana",
                "streetAddress": "4939 Hess Fork",
                "type": "work",
                "primary": False,
            },
            {
                "country": None,
                "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
                "locality": None,
                "postalCode": None,
                "region": None,
                "streetAddress": None,
                "type": "other",
                "primary": False,
            },
        ],
        "displayName": "Kimberly Baker",
        "emails": [
            {"type": "work", "primary": True, "value": "anna33@example.com"},
            {"type": "other", "primary": False, "value": "anna33@gmail.com"},
        ],
        "meta": {
            "created": "2019-09-18T18:15:26.5788954+00:00",
            "lastModified": "2019-09-18T18:15:26.5788976+00:00",
            "resourceType": "User",
        },
        "name": {
            "formatted": "Daniel Mcgee",
            "familyName": "OMalley",
            "givenName": "Darl",
            "honorificPrefix": None,
            "honorificSuffix": None,
        },
        "phoneNumbers": [
            {"type": "fax", "primary": False, "value": "312-320-0500"},
            {"type": "mobile", "primary": False, "value": "312-320-1707"},
            {"type": "work", "primary": True, "value": "312-320-0932"},
        ],
        "preferredLanguage": "xh",
        "roles": [],
        "title": "Site engineer",
        "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
        "schemas": [USER],
    }


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("User tests with garbage": "Post user "OMalley"", "Post emp1 with string "True"")
def test_reference_full_user_with_null_sub_attributes_and_string_active(
    app, entra, entra_directory
):
    """Post user OMalley, Post emp1: null sub-attributes, client meta, "active": "True"."""
    response = entra.request("POST", "/Users", json=_omalley())
    assert response.status_code == 201, response.get_json()
    user = _user(entra, response.get_json()["id"])
    assert user["userName"] == "OMalley" and user["active"] is True
    assert user["meta"]["created"] != "2019-09-18T18:15:26.5788954+00:00"
    assert user["addresses"][1] == {
        "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
        "type": "other",
        "primary": False,
    }
    assert user["name"] == {
        "formatted": "Daniel Mcgee",
        "familyName": "OMalley",
        "givenName": "Darl",
    }
    assert [p["value"] for p in user["phoneNumbers"]] == [
        "312-320-0500",
        "312-320-1707",
        "312-320-0932",
    ]
    assert (user["preferredLanguage"], user["title"]) == ("xh", "Site engineer")
    response = entra.request("POST", "/Users", json=_omalley("emp1", "True"))
    assert response.status_code == 201, response.get_json()
    assert "entra:boolean-strings" in _last_tolerances(app, entra_directory)
    assert _user(entra, response.get_json()["id"])["active"] is True


# https://github.com/AzureAD/SCIMReferenceCode/blob/master/PostmanCollection.json
# ("User tests with garbage": "Post no username", "Post junk", "Post emp3 exists")
def test_reference_refusals(entra):
    """No userName is 400, a body that is not JSON is 400, a taken userName is 409."""
    body = _omalley()
    del body["userName"]
    response = entra.request("POST", "/Users", json=body)
    assert response.status_code == 400, response.get_json()
    response = entra.request(
        "POST",
        "/Users",
        data='{\n    "acve": tre,\n    "adadfdresses": [\n',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["scimType"] == "invalidSyntax"
    assert entra.request("POST", "/Users", json=_omalley("emp3")).status_code == 201
    response = entra.request("POST", "/Users", json=_omalley("emp3"))
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["scimType"] == "uniqueness"
    assert response.get_json()["detail"]
