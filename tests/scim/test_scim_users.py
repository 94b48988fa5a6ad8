"""SCIM /Users through the Flask test client."""

import pytest

from rbac.journal import recent_requests
from tests.conftest import GROUP_SCHEMA, USER_SCHEMA
from web.db import get_session

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_create_returns_201_location_etag_and_stored_attributes(scim):
    """POST answers 201 with Location, ETag and every attribute sent, password excepted."""
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "bjensen@example.com",
        "externalId": "00u1",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        "password": "t1meMa$heen",
        "active": True,
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"},
    }
    response = scim.post("/Users", body)
    assert response.status_code == 201
    assert response.mimetype == "application/scim+json"
    user = response.get_json()
    assert response.headers["Location"] == user["meta"]["location"]
    assert response.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User"
    assert user["name"] == {"givenName": "Barbara", "familyName": "Jensen"}
    assert user[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations"}
    assert "password" not in user
    again = scim.get(f"/Users/{user['id']}").get_json()
    assert again == user
    assert "t1meMa$heen" not in str(again)


def test_duplicate_user_name_is_409_uniqueness_case_insensitively(scim):
    """UserName is unique per directory, compared case-insensitively."""
    scim.create_user("Alice@Example.com")
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "alice@example.COM"})
    assert response.status_code == 409
    error = response.get_json()
    assert error["status"] == "409"
    assert error["scimType"] == "uniqueness"


def test_missing_user_name_is_400_and_creates_nothing(scim):
    """A user without userName is refused and nothing is stored."""
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "displayName": "nobody"})
    assert response.status_code == 400
    assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_unknown_id_is_404(scim):
    """GET, PUT, PATCH and DELETE of an unknown id answer a SCIM 404."""
    path = "/Users/does-not-exist"
    body = {"schemas": [USER_SCHEMA], "userName": "x"}
    for response in (
        scim.get(path),
        scim.put(path, body),
        scim.patch(path, [{"op": "replace", "path": "displayName", "value": "x"}]),
        scim.delete(path),
    ):
        assert response.status_code == 404
        assert response.get_json()["status"] == "404"


def test_put_replaces_everything_and_keeps_id(scim):
    """PUT replaces the attributes (dropping unsent ones) and bumps the version."""
    user = scim.create_user("carol", displayName="Carol", title="Engineer")
    response = scim.put(
        f"/Users/{user['id']}",
        {"schemas": [USER_SCHEMA], "userName": "carol", "nickName": "Caz"},
    )
    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["id"] == user["id"]
    assert replaced["nickName"] == "Caz"
    assert "title" not in replaced and "displayName" not in replaced
    assert replaced["meta"]["version"] != user["meta"]["version"]
    assert replaced["meta"]["created"] == user["meta"]["created"]


def test_put_to_a_taken_user_name_is_409_and_changes_nothing(scim):
    """Renaming onto another user's userName fails without changing the user."""
    scim.create_user("dave")
    erin = scim.create_user("erin")
    response = scim.put(f"/Users/{erin['id']}", {"schemas": [USER_SCHEMA], "userName": "DAVE"})
    assert response.status_code == 409
    assert scim.get(f"/Users/{erin['id']}").get_json()["userName"] == "erin"


def test_patch_replace_deactivates_and_user_is_still_listed(scim):
    """active=false by PATCH deactivates; the user is still returned by GET and filters."""
    user = scim.create_user("frank")
    response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}])
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    listed = scim.get("/Users", query_string={"filter": 'userName eq "frank"'}).get_json()
    assert listed["totalResults"] == 1
    assert listed["Resources"][0]["active"] is False


def test_patch_add_and_remove_attributes(scim):
    """PATCH add, replace and remove change exactly the named attributes."""
    user = scim.create_user("gina", title="Dev")
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "add", "path": "nickName", "value": "G"},
            {"op": "replace", "path": "name.givenName", "value": "Gina"},
            {"op": "remove", "path": "title"},
        ],
    )
    assert response.status_code == 200
    patched = response.get_json()
    assert patched["nickName"] == "G"
    assert patched["name"] == {"givenName": "Gina"}
    assert "title" not in patched


def test_patch_that_fails_changes_nothing(scim):
    """A PATCH whose second operation is invalid applies none of its operations."""
    user = scim.create_user("hank")
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "displayName", "value": "Hank"},
            {"op": "replace", "path": "noSuchAttribute", "value": "x"},
        ],
    )
    assert response.status_code == 400
    assert "displayName" not in scim.get(f"/Users/{user['id']}").get_json()


def test_patch_to_read_only_id_is_refused(scim):
    """Id is read-only: a PATCH to it is a 400 and nothing changes."""
    user = scim.create_user("ivan")
    response = scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "id", "value": "x"}])
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "mutability"
    assert scim.get(f"/Users/{user['id']}").status_code == 200


def test_delete_then_404_and_user_name_is_free_again(scim):
    """DELETE removes the user; GET is then 404 and the userName can be created again."""
    user = scim.create_user("judy")
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404
    again = scim.create_user("judy")
    assert again["id"] != user["id"]


@pytest.mark.parametrize(
    ("scim_filter", "expected"),
    [
        ('userName eq "ALICE"', {"alice"}),
        ('externalId eq "ext-bob"', {"bob"}),
        ('externalId eq "EXT-BOB"', set()),
        ('displayName eq "carol carlsson"', {"carol"}),
        ('emails.value eq "Alice@Work.example"', {"alice"}),
        ('emails eq "bob@home.example"', {"bob"}),
        ('emails[type eq "work"].value eq "alice@work.example"', {"alice"}),
        ('emails[type eq "home" and value eq "alice@work.example"]', set()),
        ('userName eq "alice" and externalId eq "ext-alice"', {"alice"}),
        ('userName eq "alice" and externalId eq "ext-bob"', set()),
        ('userName eq "alice" or userName eq "bob"', {"alice", "bob"}),
        ('not (userName eq "alice")', {"bob", "carol"}),
        ('userName sw "a"', {"alice"}),
        ('userName co "AR"', {"carol"}),
        ('userName ew "b"', {"bob"}),
        ('userName gt "bob"', {"carol"}),
        ('userName le "bob"', {"alice", "bob"}),
        ("externalId pr", {"alice", "bob"}),
        ("not (externalId pr)", {"carol"}),
        ('externalId ne "ext-alice"', {"bob", "carol"}),
        ("active eq false", {"carol"}),
        ("emails pr", {"alice", "bob"}),
        ('userName eq "a%"', set()),
        ('userName co "_"', set()),
        ('meta.resourceType eq "User"', {"alice", "bob", "carol"}),
        ('meta.resourceType eq "user"', set()),  # caseExact (RFC 7643 §3.1)
        ('meta.resourceType eq "Group"', set()),
    ],
)
def test_filters_are_translated_to_sql(scim, scim_filter, expected):
    """Each filter returns exactly the matching users, as totalResults and Resources say."""
    scim.create_user(
        "alice",
        externalId="ext-alice",
        emails=[{"value": "Alice@Work.example", "type": "work"}],
    )
    scim.create_user(
        "bob", externalId="ext-bob", emails=[{"value": "bob@home.example", "type": "home"}]
    )
    scim.create_user("carol", displayName="Carol Carlsson", active=False)
    listed = scim.get("/Users", query_string={"filter": scim_filter}).get_json()
    assert {user["userName"] for user in listed["Resources"]} == expected
    assert listed["totalResults"] == len(expected)


@pytest.mark.parametrize(
    "scim_filter",
    [
        'userName eq "unterminated',
        "userName zz 1",
        'noSuchAttribute eq "x"',
        'emails[noSuchSub eq "x"]',
        'emails[type eq "work"] and emails[value eq "x"',
        'emails[type eq "work"',
    ],
)
def test_bad_or_unsupported_filters_are_400_invalid_filter(scim, scim_filter):
    """A malformed filter, or one naming an attribute that cannot be filtered, is invalidFilter."""
    scim.create_user("alice", title="x")
    response = scim.get("/Users", query_string={"filter": scim_filter})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    ("scim_filter", "expected"),
    [
        ('title eq "cto"', {"alice"}),
        ('title co "eng"', {"bob"}),
        ('name.familyName eq "JENSEN"', {"alice"}),
        ("name.givenName pr", {"alice"}),
        ("name pr", {"alice"}),
        (
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42"',
            {"bob"},
        ),
        (
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "eng"',
            {"bob"},
        ),
        ('phoneNumbers[type eq "work"].value eq "555-0100"', {"alice"}),
        ('phoneNumbers[type eq "work" and value co "0200"]', set()),
        ('phoneNumbers.value co "0200"', {"bob"}),
        ("phoneNumbers pr", {"alice", "bob"}),
        ('addresses[locality eq "Paris"]', {"bob"}),
        ("not (title pr) and not (phoneNumbers pr)", {"carol"}),
        ('userType eq "Employee" or title eq "CTO"', {"alice", "carol"}),
        ('nickName eq "Ünïcode"', {"carol"}),
    ],
)
def test_filters_on_attributes_of_the_json_document(scim, scim_filter, expected):
    """Attributes without their own column (core and enterprise) are filtered in SQL too."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    scim.create_user(
        "alice",
        title="CTO",
        name={"givenName": "Barbara", "familyName": "Jensen"},
        phoneNumbers=[{"value": "555-0100", "type": "work"}, {"value": "555-0101", "type": "home"}],
    )
    scim.create_user(
        "bob",
        title="Engineer",
        phoneNumbers=[{"value": "555-0200", "type": "home"}],
        addresses=[{"locality": "Paris", "type": "work"}],
        schemas=[USER_SCHEMA, enterprise],
        **{enterprise: {"employeeNumber": "42", "department": "Engineering"}},
    )
    scim.create_user("carol", userType="employee", nickName="üNÏCODE")
    listed = scim.get("/Users", query_string={"filter": scim_filter}).get_json()
    assert {user["userName"] for user in listed["Resources"]} == expected
    assert listed["totalResults"] == len(expected)


def test_sort_by_an_attribute_of_the_json_document(scim):
    """Sorting works on attributes read from the document (name.familyName), nulls last."""
    scim.create_user("a", name={"familyName": "zeta"})
    scim.create_user("b")
    scim.create_user("c", name={"familyName": "Alpha"})
    listed = scim.get("/Users", query_string={"sortBy": "name.familyName"}).get_json()
    assert [u["userName"] for u in listed["Resources"]] == ["c", "a", "b"]


def test_root_search_spans_users_and_groups(scim):
    """POST /.search at the root pages over users then groups; unknown attributes are false."""
    alice = scim.create_user("alice", displayName="Team A")
    scim.create_user("bob")
    scim.create_group("Team A", [alice["id"]])
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'displayName eq "team a" or userName eq "bob"',
        "count": 2,
    }
    first = scim.post("/.search", body).get_json()
    assert first["totalResults"] == 3
    assert [r["meta"]["resourceType"] for r in first["Resources"]] == ["User", "User"]
    second = scim.post("/.search", {**body, "startIndex": 3}).get_json()
    assert [r["displayName"] for r in second["Resources"]] == ["Team A"]
    assert second["Resources"][0]["meta"]["resourceType"] == "Group"


def test_pagination_is_stable_with_integer_totals(scim):
    """startIndex/count pages cover every user once, in the same order at any page size."""
    ids = [scim.create_user(f"user{n:02}")["id"] for n in range(7)]
    seen = []
    for start in (1, 4, 7):
        page = scim.get("/Users", query_string={"startIndex": start, "count": 3}).get_json()
        assert page["totalResults"] == 7
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        seen += [user["id"] for user in page["Resources"]]
    assert sorted(seen) == sorted(ids)
    whole = scim.get("/Users", query_string={"count": 100}).get_json()
    assert [user["id"] for user in whole["Resources"]] == seen


def test_count_zero_returns_only_the_total(scim):
    """count=0 answers the total and no resources."""
    scim.create_user("alice")
    page = scim.get("/Users", query_string={"count": 0}).get_json()
    assert page["totalResults"] == 1
    assert page.get("Resources", []) == []


def test_page_size_is_capped_at_the_advertised_maximum(app, scim):
    """A count above maxResults returns at most maxResults resources."""
    for n in range(3):
        scim.create_user(f"user{n}")
    app.config["SCIM_MAX_PAGE_SIZE"] = 2
    try:
        page = scim.get("/Users", query_string={"count": 50}).get_json()
        config = scim.get("/ServiceProviderConfig").get_json()
    finally:
        app.config["SCIM_MAX_PAGE_SIZE"] = 1000
    assert page["itemsPerPage"] == 2
    assert page["totalResults"] == 3
    assert config["filter"]["maxResults"] == 2


def test_sort_by_user_name_both_ways(scim):
    """sortBy/sortOrder order the results case-insensitively on userName."""
    for name in ("bob", "Alice", "carol"):
        scim.create_user(name)
    ascending = scim.get("/Users", query_string={"sortBy": "userName"}).get_json()
    assert [u["userName"] for u in ascending["Resources"]] == ["Alice", "bob", "carol"]
    descending = scim.get(
        "/Users", query_string={"sortBy": "userName", "sortOrder": "descending"}
    ).get_json()
    assert [u["userName"] for u in descending["Resources"]] == ["carol", "bob", "Alice"]


def test_attributes_and_excluded_attributes(scim):
    """attributes= keeps only what is asked (plus id and schemas); excludedAttributes drops."""
    user = scim.create_user("alice", displayName="Alice", title="CTO")
    only = scim.get(f"/Users/{user['id']}", query_string={"attributes": "displayName"}).get_json()
    assert only["displayName"] == "Alice"
    assert "title" not in only and "userName" not in only
    assert only["id"] == user["id"]
    without = scim.get(
        f"/Users/{user['id']}", query_string={"excludedAttributes": "title"}
    ).get_json()
    assert "title" not in without and without["displayName"] == "Alice"


def test_post_search_filters_like_get(scim):
    """POST /Users/.search takes the same parameters in a SearchRequest body."""
    scim.create_user("alice")
    scim.create_user("bob")
    response = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "bob"',
            "attributes": ["userName"],
        },
    )
    assert response.status_code == 200
    listed = response.get_json()
    assert listed["totalResults"] == 1
    assert listed["Resources"][0]["userName"] == "bob"


@pytest.mark.parametrize("user_name", ["", "   "])
def test_an_empty_user_name_is_400_and_creates_nothing(scim, user_name):
    """A userName is REQUIRED (RFC 7643 §4.1.1): empty or blank, on create or change, is refused."""
    created = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": user_name})
    assert created.status_code == 400 and created.get_json()["scimType"] == "invalidValue"
    assert scim.get("/Users").get_json()["totalResults"] == 0
    ada = scim.create_user("ada")
    blank = [{"op": "replace", "path": "userName", "value": user_name}]
    assert scim.patch(f"/Users/{ada['id']}", blank).status_code == 400
    assert scim.get(f"/Users/{ada['id']}").get_json()["userName"] == "ada"


def test_an_empty_group_display_name_is_400(scim):
    """A group's displayName is REQUIRED (RFC 7643 §4.2): empty or blank is refused."""
    blank = scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": " "})
    assert blank.status_code == 400 and blank.get_json()["scimType"] == "invalidValue"
    team = scim.create_group("Team")
    emptied = [{"op": "replace", "path": "displayName", "value": ""}]
    assert scim.patch(f"/Groups/{team['id']}", emptied).status_code == 400
    assert scim.get(f"/Groups/{team['id']}").get_json()["displayName"] == "Team"


def test_a_patch_that_changes_nothing_answers_and_is_journaled(app, scim, directory):
    """Removing an absent attribute is a 200 that commits nothing; its journal line is kept.

    Such a change still holds the user's row from its read (on SQLite, the database's one
    write lock): the request's transaction must end before its journal line is written on
    another connection, or that INSERT waited 30 s and the answer was a 500.
    """
    ada = scim.create_user("ada")
    absent = [{"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"}]
    assert scim.patch(f"/Users/{ada['id']}", absent).status_code == 200
    with app.app_context():
        lines = recent_requests(get_session(), directory.id, limit=1)
    assert [(line.method, line.status) for line in lines] == [("PATCH", 200)]


def test_filtering_on_groups_is_refused_not_silently_empty(scim):
    """A user's groups are not kept in its document: a filter on them is a 400, not 0 results."""
    for expression in ('groups.value eq "x"', "groups pr", 'Groups[value eq "x"]'):
        refused = scim.get("/Users", query_string={"filter": expression})
        assert refused.status_code == 400, expression
        assert refused.get_json()["scimType"] == "invalidFilter"


def test_meta_resource_type_is_each_resource_s_type(scim):
    """meta.resourceType filters and sorts as the constant every resource of a kind carries."""
    scim.create_user("alice")
    scim.create_group("Team", [])
    for path, kind, other in (("/Users", "User", "Group"), ("/Groups", "Group", "User")):
        for scim_filter, total in (
            (f'meta.resourceType eq "{kind}"', 1),
            ("meta.resourceType pr", 1),
            (f'meta.resourceType sw "{kind[:2]}"', 1),
            (f'meta.resourceType eq "{other}"', 0),
        ):
            listed = scim.get(path, query_string={"filter": scim_filter}).get_json()
            assert listed["totalResults"] == total, (path, scim_filter, listed)
        sorted_ = scim.get(path, query_string={"sortBy": "meta.resourceType"})
        assert sorted_.status_code == 200 and sorted_.get_json()["totalResults"] == 1
