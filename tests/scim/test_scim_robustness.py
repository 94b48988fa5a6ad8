"""Hostile and odd requests: each gets a SCIM answer below 500 and changes nothing on failure."""

import pytest

from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA

ODD_PATCH_OPERATIONS = [
    {"op": "add", "path": "members", "value": "not-a-list"},
    {"op": "add", "path": "members", "value": [{"value": 42}]},
    {"op": "add", "path": "members", "value": [{"value": "x", "display": 7}]},
    {"op": "add", "path": "members", "value": [None]},
    {"op": "add", "path": "members", "value": [[]]},
    {"op": "replace", "path": "members", "value": None},
    {"op": "replace", "path": "members", "value": {"value": "nobody"}},
    {"op": "remove", "path": "members[value pr]"},
    {"op": "remove", "path": 'members[value eq "a" and value eq "b"]'},
    {"op": "remove", "path": "members[value eq 1]"},
    {"op": "add", "value": {"members": "nope"}},
    {"op": "add", "value": {"members": [{"value": "nobody"}]}},
    {"op": "replace", "value": ["not", "an", "object"]},
    {"op": "add", "path": "displayName", "value": {"nested": True}},
    {"op": "replace", "path": "displayName", "value": None},
    {"op": "add", "path": "externalId", "value": ["a"]},
    {"op": "remove", "path": "displayName"},
    {"op": "add", "path": "urn:nope:Group:x", "value": "y"},
    {"op": "add", "path": "members[", "value": []},
]


@pytest.mark.parametrize("operation", ODD_PATCH_OPERATIONS)
def test_odd_group_patches_never_500_and_fail_cleanly(scim, operation):
    """Odd PATCH operations on a group answer below 500; a refused one changes nothing."""
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("Team", [alice])
    before = scim.get(f"/Groups/{group['id']}").get_json()
    response = scim.patch(f"/Groups/{group['id']}", [operation])
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert scim.get(f"/Groups/{group['id']}").get_json() == before


ODD_USER_BODIES = [
    {"schemas": [USER_SCHEMA], "userName": ""},
    {"schemas": [USER_SCHEMA], "userName": 42},
    {"schemas": [USER_SCHEMA], "userName": "x" * 5000},
    {"schemas": [USER_SCHEMA], "userName": "a", "emails": "nope"},
    {"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"value": "not-an-email"}]},
    {"schemas": [USER_SCHEMA], "userName": "a", "active": "maybe"},
    {"schemas": [USER_SCHEMA], "userName": "a", "name": "flat"},
    {"schemas": ["urn:nope"], "userName": "a"},
    {"schemas": [], "userName": "a"},
    {"userName": "a"},
    {"schemas": [USER_SCHEMA], "userName": "a", "unknownAttribute": 1},
    {"schemas": [USER_SCHEMA], "userName": "a", "meta": {"version": 3}},
    {"schemas": [USER_SCHEMA], "userName": "a\x00b"},
    {
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "a",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "flat",
    },
]


@pytest.mark.parametrize("body", ODD_USER_BODIES)
def test_odd_user_bodies_never_500(scim, body):
    """Odd user bodies get a SCIM answer below 500; a refused one stores nothing."""
    response = scim.post("/Users", body)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert scim.get("/Users").get_json()["totalResults"] == 0


ODD_QUERIES = [
    {"filter": "(" * 200 + 'userName eq "a"' + ")" * 200},
    {"filter": " or ".join(['userName eq "a"'] * 300)},
    {"filter": 'userName eq "\\u0000"'},
    {"filter": 'meta.lastModified gt "not-a-date"'},
    {"filter": "active gt true"},
    {"filter": 'emails[type eq "work"].value pr'},
    {"filter": 'members eq "x"'},
    {"startIndex": "99999999999999999999", "count": "5"},
    {"count": "99999999999999999999"},
    {"sortBy": "emails"},
    {"sortBy": "members"},
    {"sortBy": "name"},
    {"attributes": 'emails[type eq "work"]'},
    {"excludedAttributes": "urn:nope:x"},
]


@pytest.mark.parametrize("query", ODD_QUERIES)
@pytest.mark.parametrize("endpoint", ["/Users", "/Groups"])
def test_odd_list_queries_never_500(scim, endpoint, query):
    """Odd filters, paging and attribute parameters answer below 500."""
    scim.create_user("a")
    response = scim.get(endpoint, query_string=query)
    assert response.status_code < 500, response.get_data(as_text=True)


def test_odd_group_bodies_never_500(scim):
    """Odd group bodies (bad members, nulls) answer below 500."""
    for body in (
        {"schemas": [GROUP_SCHEMA], "displayName": None},
        {"schemas": [GROUP_SCHEMA], "displayName": "x", "members": "nope"},
        {"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": None}]},
        {"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"type": "Group"}]},
        {"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{"value": 3}]},
    ):
        response = scim.post("/Groups", body)
        assert response.status_code < 500, (body, response.get_data(as_text=True))
    patch = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add", "value": None}]}
    user = scim.create_user("z")
    assert scim.request("PATCH", f"/Users/{user['id']}", json=patch).status_code < 500
