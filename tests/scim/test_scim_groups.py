"""SCIM /Groups through the Flask test client: membership changes as row deltas."""

from sqlalchemy import event

from rbac.models import Provider
from tests.conftest import GROUP_SCHEMA, ScimClient, make_directory
from web.db import get_engine


def _users(scim, *names):
    return [scim.create_user(name)["id"] for name in names]


def test_create_group_with_members_and_read_it_back(scim):
    """POST /Groups stores the members; GET lists them with type and $ref."""
    alice, bob = _users(scim, "alice", "bob")
    group = scim.create_group("Engineering", [alice, bob], externalId="grp-1")
    assert {m["value"] for m in group["members"]} == {alice, bob}
    assert all(m["type"] == "User" and m["$ref"].endswith(m["value"]) for m in group["members"])
    fetched = scim.get(f"/Groups/{group['id']}").get_json()
    assert fetched["displayName"] == "Engineering"
    assert fetched["externalId"] == "grp-1"
    assert scim.member_ids(group["id"]) == {alice, bob}


def test_unknown_member_is_400_invalid_value_and_nothing_is_applied(scim):
    """A PATCH adding one known and one unknown member adds neither."""
    (alice,) = _users(scim, "alice")
    group = scim.create_group("Ops")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": alice}, {"value": "nobody"}]}],
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert scim.member_ids(group["id"]) == set()
    response = scim.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{"value": "nobody"}]}
    )
    assert response.status_code == 400
    assert scim.get("/Groups").get_json()["totalResults"] == 1


def test_members_of_another_directory_are_unknown(app, client, scim):
    """A user of another directory cannot be made a member."""
    other = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    stranger = other.create_user("stranger")["id"]
    group = scim.create_group("Ops")
    response = scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": stranger}]}]
    )
    assert response.status_code == 400


def test_patch_add_remove_replace_members(scim):
    """add, remove by value filter, and replace change exactly the named members."""
    alice, bob, carol = _users(scim, "alice", "bob", "carol")
    group = scim.create_group("Team", [alice])
    path = f"/Groups/{group['id']}"

    response = scim.patch(path, [{"op": "add", "path": "members", "value": [{"value": bob}]}])
    assert response.status_code == 204
    assert scim.member_ids(group["id"]) == {alice, bob}

    response = scim.patch(path, [{"op": "remove", "path": f'members[value eq "{alice}"]'}])
    assert response.status_code == 204
    assert scim.member_ids(group["id"]) == {bob}

    response = scim.patch(
        path, [{"op": "replace", "path": "members", "value": [{"value": carol}, {"value": alice}]}]
    )
    assert response.status_code == 204
    assert scim.member_ids(group["id"]) == {alice, carol}

    response = scim.patch(path, [{"op": "remove", "path": "members"}])
    assert response.status_code == 204
    assert scim.member_ids(group["id"]) == set()


def test_adding_a_present_member_and_removing_an_absent_one_are_no_ops(scim):
    """Idempotent membership changes succeed and change nothing (not even the version)."""
    alice, bob = _users(scim, "alice", "bob")
    group = scim.create_group("Team", [alice])
    path = f"/Groups/{group['id']}"
    before = scim.get(path).get_json()["meta"]["version"]
    assert (
        scim.patch(
            path, [{"op": "add", "path": "members", "value": [{"value": alice}]}]
        ).status_code
        == 204
    )
    assert (
        scim.patch(path, [{"op": "remove", "path": f'members[value eq "{bob}"]'}]).status_code
        == 204
    )
    after = scim.get(path).get_json()
    assert {m["value"] for m in after["members"]} == {alice}
    assert after["meta"]["version"] == before


def test_membership_change_bumps_the_version(scim):
    """A real membership change gives the group a new ETag."""
    (alice,) = _users(scim, "alice")
    group = scim.create_group("Team")
    scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": alice}]}]
    )
    assert (
        scim.get(f"/Groups/{group['id']}").get_json()["meta"]["version"] != group["meta"]["version"]
    )


def test_path_less_add_and_replace_with_members_and_display_name(scim):
    """A path-less operation may carry members beside other attributes."""
    alice, bob = _users(scim, "alice", "bob")
    group = scim.create_group("Team", [alice])
    path = f"/Groups/{group['id']}"
    response = scim.patch(
        path, [{"op": "add", "value": {"members": [{"value": bob}], "displayName": "Team B"}}]
    )
    assert response.status_code == 204
    fetched = scim.get(path).get_json()
    assert fetched["displayName"] == "Team B"
    assert {m["value"] for m in fetched["members"]} == {alice, bob}
    scim.patch(path, [{"op": "replace", "value": {"members": [{"value": bob}]}}])
    assert scim.member_ids(group["id"]) == {bob}


def test_patch_display_name_only_answers_200_with_the_group(scim):
    """A PATCH that does not touch members answers 200 with the group."""
    group = scim.create_group("Old")
    response = scim.patch(
        f"/Groups/{group['id']}", [{"op": "replace", "path": "displayName", "value": "New"}]
    )
    assert response.status_code == 200
    assert response.get_json()["displayName"] == "New"


def test_strict_directory_refuses_remove_with_value(scim):
    """Outside Entra, a remove carrying a value is refused rather than guessed at."""
    alice, bob = _users(scim, "alice", "bob")
    group = scim.create_group("Team", [alice, bob])
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "remove", "path": "members", "value": [{"value": alice}]}],
    )
    assert response.status_code == 400
    assert scim.member_ids(group["id"]) == {alice, bob}


def test_entra_remove_with_value_list_removes_only_those_members(app, client):
    """Entra's remove-with-value removes the listed members, never the whole group."""
    scim = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    alice, bob, carol = _users(scim, "alice", "bob", "carol")
    group = scim.create_group("Team", [alice, bob, carol])
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "Remove", "path": "members", "value": [{"value": alice}, {"value": carol}]}],
    )
    assert response.status_code == 204
    assert scim.member_ids(group["id"]) == {bob}


def test_many_member_operations_apply_in_order_in_few_statements(app, client):
    """Entra's ten one-member removes run as one; a later add of a removed member still wins."""
    scim = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    ids = _users(scim, *(f"user{n}" for n in range(12)))
    group = scim.create_group("Team", ids[:10])
    removes = [{"op": "remove", "path": "members", "value": [{"value": u}]} for u in ids[:10]]
    adds = [
        {"op": "add", "path": "members", "value": [{"value": ids[0], "display": "first"}]},
        {"op": "add", "path": "members", "value": [{"value": ids[0], "display": "second"}]},
        {"op": "add", "path": "members", "value": [{"value": ids[11], "display": "user11"}]},
    ]
    statements: list[str] = []
    with app.app_context():
        engine = get_engine()

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = scim.patch(f"/Groups/{group['id']}", removes + adds)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 204
    assert scim.member_ids(group["id"]) == {ids[0], ids[11]}
    members = scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert {m["value"]: m.get("display") for m in members}[ids[0]] == "first"
    # One DELETE of the ten memberships, one INSERT of the two, not one statement each.
    assert sum(s.startswith("DELETE FROM group_memberships") for s in statements) == 1
    assert sum(s.startswith("INSERT INTO group_memberships") for s in statements) == 1


def test_excluded_members_are_never_loaded(app, scim):
    """GET with excludedAttributes=members runs no query on group_memberships."""
    members = _users(scim, "alice", "bob")
    group = scim.create_group("Team", members)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = scim.get(
            f"/Groups/{group['id']}", query_string={"excludedAttributes": "members"}
        )
        listed = scim.get("/Groups", query_string={"excludedAttributes": "members"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200 and "members" not in response.get_json()
    assert "members" not in listed.get_json()["Resources"][0]
    assert statements, "the listener saw the requests' queries"
    assert not [s for s in statements if "group_memberships" in s]


def test_list_groups_with_members_and_filter_by_member(scim):
    """Listing groups shows members; members[value eq] and displayName filters work in SQL."""
    alice, bob = _users(scim, "alice", "bob")
    scim.create_group("Alpha", [alice])
    scim.create_group("Beta", [alice, bob])
    listed = scim.get("/Groups", query_string={"filter": f'members[value eq "{bob}"]'}).get_json()
    assert [g["displayName"] for g in listed["Resources"]] == ["Beta"]
    assert {m["value"] for m in listed["Resources"][0]["members"]} == {alice, bob}
    by_name = scim.get("/Groups", query_string={"filter": 'displayName eq "alpha"'}).get_json()
    assert [g["displayName"] for g in by_name["Resources"]] == ["Alpha"]


def test_put_group_sets_members_by_difference(scim):
    """PUT replaces the member list."""
    alice, bob, carol = _users(scim, "alice", "bob", "carol")
    group = scim.create_group("Team", [alice, bob])
    response = scim.put(
        f"/Groups/{group['id']}",
        {"schemas": [GROUP_SCHEMA], "displayName": "Team", "members": [{"value": carol}]},
    )
    assert response.status_code == 200
    assert {m["value"] for m in response.get_json()["members"]} == {carol}


def test_delete_group_and_deleting_a_user_drops_its_memberships(scim):
    """Deleting a user removes it from groups; deleting a group answers 404 afterwards."""
    alice, bob = _users(scim, "alice", "bob")
    group = scim.create_group("Team", [alice, bob])
    assert scim.delete(f"/Users/{alice}").status_code == 204
    assert scim.member_ids(group["id"]) == {bob}
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert scim.get(f"/Groups/{group['id']}").status_code == 404
    assert scim.get(f"/Users/{bob}").status_code == 200


def test_invalid_member_paths_are_400(scim):
    """Sub-attribute paths and filtered adds on members are refused, not guessed."""
    (alice,) = _users(scim, "alice")
    group = scim.create_group("Team", [alice])
    path = f"/Groups/{group['id']}"
    for operation in (
        {"op": "replace", "path": "members.display", "value": "x"},
        {"op": "add", "path": f'members[value eq "{alice}"]', "value": {"display": "x"}},
        {"op": "remove", "path": 'members[display eq "x"]'},
    ):
        response = scim.patch(path, [operation])
        assert response.status_code == 400, operation
    assert scim.member_ids(group["id"]) == {alice}
