"""/admin projects and assets: who has access and why, roles given and taken back (seed 000)."""

import re

from sqlalchemy import func, select

from rbac.models import EffectiveAccess, Event
from tests.conftest import Browser, create_admin, make_directory, table_rows
from web.db import get_session


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        db = get_session()
        events = db.scalar(select(func.count()).select_from(Event))
        return events, db.scalar(select(func.count()).select_from(EffectiveAccess))


def test_projects_are_listed_and_created(world, admin):
    """The list shows the projects; a new one is created from the page (seed 000)."""
    assert "project:web" in admin.get("/admin/projects").get_data(as_text=True)
    created = admin.post("/admin/projects", {"slug": "mobile"})
    assert created.status_code == 303 and created.headers["Location"] == "/admin/projects/mobile"
    page = admin.get("/admin/projects/mobile").get_data(as_text=True)
    assert "project:mobile" in page
    admin.get("/admin/projects")
    taken = admin.post("/admin/projects", {"slug": "mobile", "back": "/admin/projects"})
    assert taken.status_code == 409
    assert "exists" in taken.text and 'value="mobile"' in taken.text


def test_a_group_assigned_on_a_project_gives_its_members_access_with_the_reason(world, admin):
    """Assign a group editor on the project and member on an asset: the access list says why."""
    alice = world.user("alice")
    world.group("Engineering", alice)
    admin.get("/admin/projects/web")
    answer = admin.post(
        "/admin/projects/web/roles",
        {"kind": "group", "group-holder": "Engineering", "group-role": "editor"},
    )
    assert answer.status_code == 303
    page = admin.get("/admin/projects/web").get_data(as_text=True)
    assert "group Engineering now holds editor on project:web" in page
    alice_row = next(row for row in table_rows(page, "access") if row.startswith("alice"))
    assert "editor" in alice_row and "Engineering" in alice_row
    assert any("Engineering editor" in row for row in table_rows(page, "assignments"))
    admin.get("/admin/projects/web/assets/bot")
    admin.post(
        "/admin/projects/web/assets/bot/roles",
        {"kind": "user", "user-holder": "alice", "user-role": "viewer"},
    )
    asset_page = admin.get("/admin/projects/web/assets/bot").get_data(as_text=True)
    assert any(row.startswith("alice viewer") for row in table_rows(asset_page, "grants"))
    assert world.explain("alice", "project:web")["role"] == "editor"


def test_removing_an_assignment_shows_what_it_revokes_then_does_it(world, app, admin):
    """The confirmation lists every member who loses access; nothing changes until confirmed."""
    alice, bob = world.user("alice"), world.user("bob")
    world.group("Engineering", alice, bob)
    world.ok("assign", "--org", "acme", "--group", "Engineering", "--role", "editor", "project:web")
    page = admin.get("/admin/projects/web").get_data(as_text=True)
    remove = re.search(r'href="(/admin/assignments/\d+/remove)"', page).group(1)
    before = _counts(app)
    confirm = admin.get(remove).get_data(as_text=True)
    assert _counts(app) == before  # the preview ran in a savepoint and was undone
    revokes = table_rows(confirm, "revokes")
    assert any(r.startswith("alice project:web editor") for r in revokes)
    assert any(r.startswith("bob project:web editor") for r in revokes)
    assert world.explain("alice", "project:web")["role"] == "editor"
    done = admin.post(remove)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/projects/web"
    assert world.explain("alice", "project:web")["role"] is None
    removed = admin.get("/admin/projects/web").get_data(as_text=True)
    assert "Removed: editor held by group Engineering on project:web" in removed
    world.verify_clean()


def test_a_mistyped_name_is_said_on_the_page(world, admin):
    """An unknown group or an unoffered role changes nothing and is flashed, not an error page."""
    admin.get("/admin/projects/web")
    answer = admin.post(
        "/admin/projects/web/roles",
        {
            "kind": "group",
            "group-holder": "Nobody",
            "group-role": "editor",
            "back": "/admin/projects/web",
        },
    )
    assert answer.status_code == 400  # the project's page, with the name typed, to correct
    assert "no group &#39;Nobody&#39;" in answer.text and 'value="Nobody"' in answer.text
    bad_role = admin.post(
        "/admin/projects/web/roles",
        {"kind": "user", "user-holder": "x", "user-role": "emperor", "back": "/admin/projects/web"},
    )
    assert bad_role.status_code == 400
    assert "one of the roles offered" in bad_role.text


def test_a_project_admin_manages_their_project_only(world, app, client):
    """Seed 002: a project Admin sees and manages their project; another one is 403."""
    world.ok("project", "create", "--org", "acme", "mobile")
    pat = _project_admin(world, app, client, "admin on project:web")
    listed = pat.get("/admin/projects").get_data(as_text=True)
    assert "project:web" in listed and "project:mobile" not in listed
    assert "New project" not in listed
    assert pat.get("/admin/projects/web").status_code == 200
    refused = pat.get("/admin/projects/mobile")
    assert refused.status_code == 403
    assert "may not project.assign_roles on project:mobile" in refused.get_data(as_text=True)
    assert pat.get("/admin/directories").status_code == 403


def test_another_org_projects_are_404_like_made_up_ones(world, app, admin):
    """Acme's admin naming globex's project gets what a made-up name gets."""
    make_directory(app, org_slug="globex", name="entra")
    world.ok("project", "create", "--org", "globex", "secret")
    foreign, made_up = admin.get("/admin/projects/secret"), admin.get("/admin/projects/ghost")
    assert foreign.status_code == made_up.status_code == 404
    text = foreign.get_data(as_text=True).replace("secret", "X")
    assert text.replace("csrf", "") and _same_page(text, made_up.get_data(as_text=True), "ghost")


def _project_admin(world, app, client, *roles: str) -> Browser:
    """pat@example.com, logged in, holding only the roles given ("admin on project:web")."""
    create_admin(app, email="pat@example.com", role="admin")
    world.ok("revoke", "--org", "acme", "--user", "pat@example.com", "--role", "admin", "org")
    for role_on in roles:
        role, _, address = role_on.partition(" on ")
        world.ok("grant", "--org", "acme", "--user", "pat@example.com", "--role", role, address)
    pat = Browser(client)
    assert pat.log_in("pat@example.com").status_code == 303
    return pat


def _same_page(page: str, other: str, name: str) -> bool:
    token = re.compile(r'name="csrf_token" value="[^"]+"')
    return token.sub("", page) == token.sub("", other.replace(name, "X"))


def test_a_workforce_shows_its_agents_and_who_cannot_run_one(world, admin):
    """Seed 002: a member of the workforce without run on one of its agents is flagged."""
    world.user("alice")
    world.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "agent", "writer")
    world.ok(
        "asset", "create", "--org", "acme", "--project", "web", "--kind", "workforce",
        "--uses", "bot,writer", "crew",
    )  # fmt: skip
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/crew")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "member", "asset:web/bot")
    page = admin.get("/admin/projects/web/assets/crew").get_data(as_text=True)
    assert re.search(r"This workforce uses: <a[^>]*>bot</a>, <a[^>]*>writer</a>", page)
    alice = next(row for row in table_rows(page, "access") if row.startswith("alice"))
    assert "Cannot run agent" in alice and "writer" in alice
    ada = next(row for row in table_rows(page, "access") if row.startswith("ada"))
    assert "Cannot run agent" not in ada  # the owner is admin of every agent by cascade

    # Taking writer out of the composition lifts the warning; nothing else changes.
    assert re.search(
        r'<input checked id="agents-\d" name="agents" type="checkbox" value="writer"', page
    )
    events_before, access_before = _counts(world.app)
    saved = admin.post(
        "/admin/projects/web/assets/crew/agents",
        {"agents": "bot", "back": "/admin/projects/web/assets/crew"},
    )
    assert saved.status_code == 303
    page = admin.get("/admin/projects/web/assets/crew").get_data(as_text=True)
    assert "crew now uses bot." in page and "Cannot run agent" not in page
    assert re.search(r"This workforce uses: <a[^>]*>bot</a>\.", page)
    assert world.check("alice", "asset.run", "asset:web/crew")
    events, access = _counts(world.app)
    assert access == access_before and events == events_before + 1  # resource.updated

    # Only agents of the project are offered; anything else is flashed and changes nothing.
    refused = admin.post(
        "/admin/projects/web/assets/crew/agents",
        {"agents": "search", "back": "/admin/projects/web/assets/crew"},
    )
    assert refused.status_code == 400
    assert "choose among the agents of this project" in refused.text
    page = admin.get("/admin/projects/web/assets/crew").get_data(as_text=True)
    assert re.search(r"This workforce uses: <a[^>]*>bot</a>\.", page)
    not_one = admin.post("/admin/projects/web/assets/bot/agents", {"back": "/admin/projects/web"})
    assert not_one.status_code == 400 and "only a workforce uses agents" in not_one.text


def test_a_project_admin_may_not_recompose_a_workforce_of_another_project(world, app, client):
    """Composing a workforce needs edit on it: a project Admin of another project gets a 403."""
    world.ok("project", "create", "--org", "acme", "ops")
    world.ok(
        "asset", "create", "--org", "acme", "--project", "web", "--kind", "workforce",
        "--uses", "bot", "crew",
    )  # fmt: skip
    pat = _project_admin(world, app, client, "admin on project:ops")
    pat.get("/admin/projects/ops")
    refused = pat.post("/admin/projects/web/assets/crew/agents", {"agents": "bot"})
    assert refused.status_code == 403


def test_long_lists_of_projects_and_assets_come_in_pages(world, admin, monkeypatch):
    """Projects and a project's assets page by id; each page links to the next."""
    monkeypatch.setattr("app.admin.resources.PROJECTS_PER_PAGE", 2)
    monkeypatch.setattr("app.admin.resources.ASSETS_PER_PAGE", 1)
    for slug in ("api", "docs"):
        world.ok("project", "create", "--org", "acme", slug)
    first = admin.get("/admin/projects").text
    assert re.findall(r"<code>project:(\w+)</code>", first) == ["web", "api"]
    after = re.search(r'<a href="\?after=(\d+)">More projects', first).group(1)
    second = admin.get(f"/admin/projects?after={after}").text
    assert re.findall(r"<code>project:(\w+)</code>", second) == ["docs"]
    assert "More projects" not in second
    assets = admin.get("/admin/projects/web").text
    assert ">bot</a>" in assets and ">search</a>" not in assets
    after = re.search(r'<a href="\?assets_after=(\d+)">More assets', assets).group(1)
    assert ">search</a>" in admin.get(f"/admin/projects/web?assets_after={after}").text

    # Grants beyond what one page shows are said to be there, with where to list them all.
    monkeypatch.setattr("app.admin.resources.HELD_SHOWN", 1)
    for name in ("alice", "bob"):
        world.user(name)
        world.ok("grant", "--org", "acme", "--user", name, "--role", "viewer", "project:web")
    page = admin.get("/admin/projects/web").text
    assert len(table_rows(page, "grants")) == 1
    assert "GET /api/v1/grants?resource=project:web</code> lists them all" in page


def test_a_project_admin_lists_only_the_projects_they_manage(world, app, client):
    """Viewer on one project, Admin on another: only the second is listed."""
    world.ok("project", "create", "--org", "acme", "ops")
    pat = _project_admin(world, app, client, "viewer on project:web", "admin on project:ops")
    listed = pat.get("/admin/projects").text
    assert re.findall(r"<code>project:(\w+)</code>", listed) == ["ops"]


def test_an_asset_admin_finds_their_asset_on_the_projects_page(world, app, client):
    """Seed 002: Admin of one agent only: its project is not theirs, the agent is listed."""
    pat = _project_admin(world, app, client, "admin on asset:web/bot")
    listed = pat.get("/admin/projects").text
    assert re.findall(r"<code>project:(\w+)</code>", listed) == []
    assert table_rows(listed, "managed-assets") == ["bot agent asset:web/bot"]
    assert pat.get("/admin/projects/web/assets/bot").status_code == 200


def test_invalid_forms_say_what_is_wrong(world, admin):
    """An empty slug, an unknown kind: a 400 with each field's message, nothing made."""
    admin.get("/admin/projects")
    empty = admin.post("/admin/projects", {"slug": ""})
    assert empty.status_code == 400 and "Project slug: This field is required." in empty.text
    admin.get("/admin/projects/web")
    bad_kind = admin.post("/admin/projects/web", {"slug": "x", "kind": "robot"})
    assert bad_kind.status_code == 400 and "Kind: Not a valid choice." in bad_kind.text
    assert "project:web" in admin.get("/admin/projects").text
    assert ">x</a>" not in admin.get("/admin/projects/web").text
