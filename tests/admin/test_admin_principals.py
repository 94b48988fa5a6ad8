"""/admin users and groups: search, profiles with access and why, local groups edited (seed 004)."""

import re

from tests.conftest import Browser, create_admin, table_rows


def test_users_are_searched_and_show_their_access_and_why(world, admin):
    """A user's page: groups direct and nested, access with sources, and explain for one."""
    alice = world.user("alice", displayName="Alice Liddell")
    world.user("bob")
    team = world.group("Team", alice)
    world.ok("group", "create", "--org", "acme", "--slug", "all", "Everyone")
    world.ok("group", "nest", "--org", "acme", "all", team)
    world.ok("assign", "--org", "acme", "--group", "Everyone", "--role", "member", "project:web")
    found = admin.get("/admin/users?q=liddell").get_data(as_text=True)
    assert [row.split()[0] for row in table_rows(found, "users")] == ["alice"]
    page = admin.get(f"/admin/users/{alice}").get_data(as_text=True)
    assert "Member of: <a" in page and ">Team</a>" in page
    assert re.search(r"Through nesting: <a[^>]*>Everyone</a>", page)
    access = table_rows(page, "access")
    assert any(row.startswith("project:web member") and "Everyone" in row for row in access)
    why = admin.get(f"/admin/users/{alice}?explain=project:web").get_data(as_text=True)
    sources = table_rows(why, "sources")
    assert any(row.startswith("wins member") for row in sources)
    world.set_active(alice, False)
    why = admin.get(f"/admin/users/{alice}?explain=project:web").get_data(as_text=True)
    assert any(
        row.startswith("not in effect member") and "(the user is deactivated)" in row
        for row in table_rows(why, "sources")
    ), table_rows(why, "sources")
    bad = admin.get(f"/admin/users/{alice}?explain=nowhere").get_data(as_text=True)
    assert "is not org, project:PROJECT or asset:PROJECT/ASSET" in bad


def test_a_local_group_is_made_filled_nested_renamed_and_deleted(world, admin):
    """Seed 004: a local group with a user and a sub-group; deleting it shows what goes."""
    alice, bob = world.user("alice"), world.user("bob")
    world.group("Contractors", bob)
    admin.get("/admin/groups")
    made = admin.post(
        "/admin/groups", {"name": "Partners", "slug": "partners", "description": "Outside help"}
    )
    assert made.status_code == 303
    page_url = made.headers["Location"]
    admin.get(page_url)
    assert admin.post(f"{page_url}/members", {"member": "alice", "kind": "user"}).status_code == 303
    admin.post(f"{page_url}/members", {"member": "Contractors", "kind": "group"})
    world.ok("assign", "--org", "acme", "--group", "Partners", "--role", "viewer", "asset:web/bot")
    page = admin.get(page_url).get_data(as_text=True)
    assert sorted(table_rows(page, "members")) == [
        "Contractors group Remove…",
        "alice user Remove…",
    ]
    assert table_rows(page, "granted") == ["asset:web/bot viewer this group"]
    assert world.explain("bob", "asset:web/bot")["role"] == "viewer"  # through Contractors
    assert '<p id="description">Outside help</p>' in page
    admin.post(f"{page_url}/rename", {"name": "Partners & co", "description": "Agencies"})
    renamed = admin.get(page_url).text
    assert "Partners &amp; co" in renamed and '<p id="description">Agencies</p>' in renamed
    confirm = admin.get(f"{page_url}/delete").get_data(as_text=True)
    revokes = table_rows(confirm, "revokes")
    assert {row.split()[0] for row in revokes} == {"alice", "bob"}
    assert "alice asset:web/bot viewer no access" in revokes
    assert world.explain("alice", "asset:web/bot")["role"] == "viewer"  # not yet
    deleted = admin.post(f"{page_url}/delete")
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/admin/groups"
    assert world.explain("alice", "asset:web/bot")["role"] is None
    assert admin.get(page_url).status_code == 404
    world.verify_clean()
    assert alice


def test_idp_groups_are_read_only_here(world, admin):
    """An IdP group's page has no forms; a forged change is refused with the IdP named."""
    alice = world.user("alice")
    team = world.group("Team", alice)
    page = admin.get(f"/admin/groups/{team}").get_data(as_text=True)
    assert "Its IdP manages its name and members" in page and "/rename" not in page
    answer = admin.post(
        f"/admin/groups/{team}/members",
        {"member": "alice", "kind": "user", "back": f"/admin/groups/{team}"},
    )
    assert answer.status_code == 409  # refused on the group's page itself
    assert "managed by its IdP" in answer.text and "Its IdP manages its name" in answer.text


def test_removing_a_member_takes_their_access(world, admin):
    """Removing a user from a local group shows what it revokes, then revokes it."""
    alice = world.user("alice")
    world.ok("group", "create", "--org", "acme", "--slug", "ops", "Ops")
    world.ok("group", "add", "--org", "acme", "ops", "alice")
    world.ok("assign", "--org", "acme", "--group", "Ops", "--role", "editor", "project:web")
    page = admin.get("/admin/groups/ops").get_data(as_text=True)
    assert "editor" in page
    confirm = admin.get(f"/admin/groups/ops/members/{alice}/remove").text
    assert "alice project:web editor" in table_rows(confirm, "revokes")[0]
    assert world.explain("alice", "project:web")["role"] == "editor"  # not yet
    assert admin.post(f"/admin/groups/ops/members/{alice}/remove").status_code == 303
    assert world.explain("alice", "project:web")["role"] is None


def test_a_user_is_granted_a_role_from_their_page(world, admin):
    """The user page's role picker gives a direct grant; a wrong address or role is flashed."""
    alice = world.user("alice")
    page = f"/admin/users/{alice}"
    admin.get(page)
    given = admin.post(f"{page}/grants", {"resource": "asset:web/bot", "role": "member"})
    assert given.status_code == 303 and given.headers["Location"] == page
    shown = admin.get(page).get_data(as_text=True)
    assert "alice now holds member on asset:web/bot" in shown
    assert any(row.startswith("asset:web/bot member") for row in table_rows(shown, "grants"))
    assert world.explain("alice", "asset:web/bot")["role"] == "member"
    for body, said in (
        ({"resource": "project:nope", "role": "member"}, "no project"),
        ({"resource": "project:web", "role": "owner"}, "owner"),
    ):
        answer = admin.post(f"{page}/grants", {**body, "back": page})
        assert answer.status_code == 400
        assert said in answer.text
        assert f'value="{body["resource"]}"' in answer.text  # what was sent, to correct
    assert world.explain("alice", "project:web")["role"] == "viewer"  # implied by bot only

    # Removing the grant from her page confirms there, and comes back there.
    grant_id = re.search(r"/admin/grants/(\d+)/remove\?back=", shown).group(1)
    confirm = admin.get(f"/admin/grants/{grant_id}/remove?back={page}").text
    assert "alice" in table_rows(confirm, "revokes")[0]
    removed = admin.post(f"/admin/grants/{grant_id}/remove?back={page}")
    assert removed.headers["Location"] == page
    assert world.explain("alice", "asset:web/bot")["role"] is None


def test_an_idp_group_is_mapped_to_org_roles(world, app, client, admin):
    """Seed 003: an IdP group gets a primary org role and an additive one; members inherit."""
    bob = world.user("bob")
    it_admins = world.group("IT-Admins", bob)
    page = f"/admin/groups/{it_admins}"
    admin.get(page)
    for role in ("admin", "agent_creator"):
        given = admin.post(f"{page}/roles", {"resource": "org", "role": role})
        assert given.status_code == 303 and given.headers["Location"] == page
    shown = admin.get(page).text
    assert "group IT-Admins now holds agent_creator on org" in shown
    assert [row.split()[:2] for row in table_rows(shown, "roles")] == [
        ["org", "admin"],
        ["org", "agent_creator"],
    ]
    explained = world.explain("bob", "org")
    assert (explained["role"], explained["additive"]) == ("admin", ["agent_creator"])
    assert world.check("bob", "org.manage_users", "org")

    # An org Admin (not an Owner) may not hand the Owner role to a group: said on the page.
    create_admin(app, email="carol@example.com", role="admin")
    carol = Browser(client)
    assert carol.log_in("carol@example.com").status_code == 303
    carol.get(page)
    refused = carol.post(f"{page}/roles", {"resource": "org", "role": "owner", "back": page})
    assert refused.status_code == 403
    assert "may not give or take owner on org" in refused.text
    assert world.explain("bob", "org")["role"] == "admin"

    # Unmapping shows whose access goes first, then comes back to the group.
    assignment = re.search(r"/admin/assignments/(\d+)/remove\?back=", shown).group(1)
    url = f"/admin/assignments/{assignment}/remove?back={page}"
    confirm = admin.get(url).text
    revokes = table_rows(confirm, "revokes")
    assert revokes[0] == "bob org admin viewer"  # the org's default role remains
    assert "bob project:web admin no access" in revokes  # and the cascade goes
    assert admin.post(url).headers["Location"] == page
    explained = world.explain("bob", "org")
    assert (explained["role"], explained["additive"]) == ("viewer", ["agent_creator"])


def test_local_users_are_created_deactivated_reactivated_and_deleted(world, admin):
    """Seed 004's org without an IdP: people made here, suspended, restored and removed."""
    admin.get("/admin/users")
    made = admin.post("/admin/users", {"user_name": "pat@example.com", "display_name": "Pat"})
    assert made.status_code == 303
    page = made.headers["Location"]
    world.ok("grant", "--org", "acme", "--user", "pat@example.com", "--role", "editor",
             "project:web")  # fmt: skip
    confirm = admin.get(f"{page}/deactivate").text
    assert "Deactivate pat@example.com?" in confirm
    assert "pat@example.com project:web editor no access" in table_rows(confirm, "revokes")
    assert admin.post(f"{page}/deactivate").status_code == 303
    assert not world.check("pat@example.com", "project.view", "project:web")
    assert "deactivated" in admin.get(page).text
    assert admin.post(f"{page}/reactivate").status_code == 303
    assert world.explain("pat@example.com", "project:web")["role"] == "editor"  # grant kept
    assert admin.post(f"{page}/delete").status_code == 303
    assert admin.get(page).status_code == 404
    world.verify_clean()

    # The IdP's users are the IdP's: no button, and a forged request is refused on the page.
    alice = world.user("alice")
    assert "Deactivate…" not in admin.get(f"/admin/users/{alice}").text
    refused = admin.post(f"/admin/users/{alice}/delete")
    assert refused.status_code == 409
    assert "managed by its IdP" in refused.text
    empty = admin.post("/admin/users", {"user_name": ""})
    assert empty.status_code == 400 and "userName: This field is required." in empty.text


def test_local_group_names_are_unique_and_shared_names_are_offered_by_id(world, admin):
    """Seed 004: a second local group with a name taken is refused; an IdP group may share it."""
    sales = world.group("Sales")
    admin.get("/admin/groups")
    assert admin.post("/admin/groups", {"name": "Sales", "slug": "sales"}).status_code == 303
    taken = admin.post(
        "/admin/groups", {"name": "sales", "slug": "sales-2", "back": "/admin/groups"}
    )
    assert taken.status_code == 409
    assert "a local group named &#39;sales&#39; exists" in taken.text
    page = admin.get("/admin/projects/web").text
    assert f'<option value="{sales}">Sales (IdP)</option>' in page
    local = re.search(r'<option value="([^"]+)">Sales \(local\)</option>', page).group(1)
    assert local != "Sales"
    admin.post("/admin/projects/web/roles", {"kind": "group", "group-holder": sales,
                                             "group-role": "viewer"})  # fmt: skip
    assert "group Sales now holds viewer" in admin.get("/admin/projects/web").text


def test_a_form_without_its_optional_fields_is_fine(world, admin):
    """A scripted POST may leave out the description: no 500, the group is made and renamed."""
    admin.get("/admin/groups")
    made = admin.post("/admin/groups", {"name": "Ops", "slug": "ops"})
    assert made.status_code == 303
    admin.get(made.headers["Location"])
    renamed = admin.post(f"{made.headers['Location']}/rename", {"name": "Operations"})
    assert renamed.status_code == 303
    assert "Operations" in admin.get(made.headers["Location"]).text


def test_a_refused_removal_is_said_on_the_page_it_came_from(world, admin):
    """Ada, the only Owner, removing her own Owner grant: told so on her page, not elsewhere."""
    ada = world.ok("user", "list", "--org", "acme").split("ada@example.com")[0].split()[-1]
    page = f"/admin/users/{ada}"
    grant = re.search(r"/admin/grants/(\d+)/remove", admin.get(page).text).group(1)
    answer = admin.get(f"/admin/grants/{grant}/remove?back={page}")
    assert answer.status_code == 303 and answer.headers["Location"] == page
    assert "owner" in _flashes(admin.get(page).text)[0].lower()


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', page)


def test_an_org_admin_may_not_deactivate_or_delete_an_owner(world, app, client, admin):
    """Taking the Owner role is an Owner's act, by any route: deactivating or deleting one too."""
    create_admin(app, email="carol@example.com", role="admin")
    create_admin(app, email="olga@example.com", role="owner")
    carol = Browser(client)
    assert carol.log_in("carol@example.com").status_code == 303
    assert world.explain("olga@example.com", "org")["role"] == "owner"
    for action in ("deactivate", "delete"):
        page = f"/admin/users/olga@example.com/{action}"
        preview = carol.get(page)  # the preview is refused too, back on the user's page
        assert preview.status_code == 303
        assert "may not give or take owner" in carol.get(preview.headers["Location"]).text
        refused = carol.post(page, {})  # with the token of the page just shown
        assert refused.status_code == 403
        assert "may not give or take owner" in refused.text, action
        assert world.explain("olga@example.com", "org")["role"] == "owner", action
