"""Replays of the requests Microsoft documents for its Entra ID provisioning service.

Bodies are copied from Microsoft's public pages (the ids they name are replaced by ids the
test created first); every change is read back with GET.
"""

import pytest

from rbac.models import Provider
from tests.conftest import ScimClient, make_directory

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
def entra(app, client) -> ScimClient:
    """A SCIM client authenticated as an Entra ID directory."""
    return ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)


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
