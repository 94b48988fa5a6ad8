"""/admin through the test client: accounts, login, CSRF, sessions, headers, directories."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.cli import cli
from rbac.db import utcnow
from rbac.models import AdminCredential, AdminSession, Directory, Organization, User
from tests.conftest import (
    PASSWORD,
    USER_SCHEMA,
    Browser,
    ScimClient,
    create_admin,
    make_directory,
)
from web.db import get_session


@pytest.fixture
def browser(admin):
    """Ada, logged in (the `admin` fixture), under this module's older name."""
    return admin


def test_pages_need_a_login_and_carry_security_headers(app, client):
    """Anonymous: every page redirects to the login, which is framed by nothing, scripts none."""
    response = client.get("/admin/directories")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/directories"
    login = client.get("/admin/login")
    csp = login.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "default-src 'none'" in csp
    assert login.headers["Referrer-Policy"] == "same-origin"
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in login.get_data(as_text=True)
    with client.get("/static/admin.css") as stylesheet:
        assert stylesheet.headers["X-Content-Type-Options"] == "nosniff"


def test_forms_work_over_https_with_the_referer_the_policy_lets_through(world, app, client):
    """Over HTTPS Flask-WTF also wants a Referer from this host; same-origin lets it come.

    With `Referrer-Policy: no-referrer` browsers sent none, and every form, the login first,
    was refused with a 400 once the app was served over HTTPS.
    """
    create_admin(app)
    https = {"base_url": "https://localhost"}
    page = client.get("/admin/login", **https)
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    form = {"email": "ada@example.com", "password": PASSWORD, "csrf_token": token}
    unreferred = client.post("/admin/login", data=form, **https)
    assert unreferred.status_code == 400  # what a browser obeying no-referrer sent
    referred = client.post(
        "/admin/login", data=form, headers={"Referer": "https://localhost/admin/login"}, **https
    )
    assert referred.status_code == 303, referred.text


def test_the_secret_key_is_kept_in_the_instance_folder(tmp_path, monkeypatch):
    """Without ROLECALL_SECRET_KEY, the key is made once, owner-only, and shared by workers."""
    from app import create_app

    monkeypatch.delenv("ROLECALL_SECRET_KEY", raising=False)
    monkeypatch.setenv("ROLECALL_INSTANCE_PATH", str(tmp_path))
    first = create_app({"DATABASE_URL": "sqlite://"})
    second = create_app({"DATABASE_URL": "sqlite://"})
    key_file = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 64 and key_file.stat().st_mode & 0o777 == 0o600
    assert first.test_client().get("/admin/login").status_code == 200
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no file of a worker left
    monkeypatch.setenv("ROLECALL_SECRET_KEY", "from-the-environment")
    assert create_app({"DATABASE_URL": "sqlite://"}).secret_key == "from-the-environment"


def test_a_worker_losing_the_race_for_the_secret_key_reads_the_winners(tmp_path, monkeypatch):
    """Workers start at once: one that saw no key, but finds one made meanwhile, uses it."""
    from pathlib import Path

    from app import create_app

    monkeypatch.delenv("ROLECALL_SECRET_KEY", raising=False)
    monkeypatch.setenv("ROLECALL_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "secret_key").write_text("the winner's key")
    monkeypatch.setattr(Path, "exists", lambda self: False)  # it looked before the winner wrote
    assert create_app({"DATABASE_URL": "sqlite://"}).secret_key == "the winner's key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_log_in_and_out(world, app, client):
    """The right password opens a server-side session; logging out ends it for good."""
    create_admin(app)
    browser = Browser(client)
    wrong = browser.log_in(password="not the password")
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.get_data(as_text=True)
    assert browser.log_in(email="nobody@example.com").status_code == 401
    answer = browser.log_in()
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    overview = browser.get("/admin/")
    assert overview.status_code == 200
    assert "ada@example.com" in overview.get_data(as_text=True)
    assert "<strong>owner</strong>" in overview.get_data(as_text=True)
    stolen = client.get_cookie("rolecall_admin", path="/admin").value
    assert browser.post("/admin/logout").status_code == 303
    assert client.get("/admin/").status_code == 302
    client.set_cookie("rolecall_admin", stolen, path="/admin")  # the old cookie, replayed
    assert client.get("/admin/").status_code == 302
    with app.app_context():
        sessions = get_session().scalars(select(AdminSession)).all()
        assert len(sessions) == 1 and sessions[0].ended_at is not None


def test_an_admin_of_two_organizations_picks_one(world, app, client, monkeypatch):
    """One email and password in two orgs: a picker lists both; the choice is the session's org."""
    make_directory(app, org_slug="globex", name="entra")
    create_admin(app)
    create_admin(app, org="globex", role="admin")
    create_admin(app, org="globex", email="eve@example.com")
    browser = Browser(client)
    browser.get("/admin/login?next=/admin/directories")
    answer = client.post(
        "/admin/login?next=/admin/directories",
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": browser.token},
    )
    assert answer.headers["Location"] == "/admin/login/organization"
    assert client.get("/admin/").status_code == 302  # not logged in until she picks
    picker = browser.get("/admin/login/organization").get_data(as_text=True)
    assert re.findall(r"<code>(\w+)</code>", picker) == ["acme", "globex"]
    with app.app_context():
        globex_ada, eve = (
            get_session()
            .execute(
                select(AdminCredential.user_id)
                .join(User, User.id == AdminCredential.user_id)
                .join(Organization, Organization.id == User.organization_id)
                .where(Organization.slug == "globex")
                .order_by(User.user_name)
            )
            .scalars()
            .all()
        )
    refused = browser.post("/admin/login/organization", {"user": eve})  # not one she opened
    assert refused.status_code == 200 and "Choose one of the organizations" in refused.text
    chosen = browser.post("/admin/login/organization", {"user": globex_ada})
    assert chosen.headers["Location"] == "/admin/directories"
    page = browser.get("/admin/directories").get_data(as_text=True)
    assert '<span class="org">globex</span>' in page and ">entra</a>" in page
    assert browser.get("/admin/login/organization").headers["Location"] == "/admin/login"

    # The choice expires with the password's proof: five minutes.
    browser.post("/admin/logout")
    browser.log_in()
    browser.get("/admin/login/organization")  # she leaves the picker open
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr("rbac.accounts.utcnow", lambda: later)
    assert (
        browser.post("/admin/login/organization", {"user": globex_ada}).headers["Location"]
        == "/admin/login"
    )
    assert client.get("/admin/").status_code == 302


def test_the_org_choice_lives_on_the_server_and_is_used_once(world, app, client):
    """A replayed choice cookie opens nothing: after its use, after logout, after a new password."""
    make_directory(app, org_slug="globex", name="entra")
    create_admin(app)
    create_admin(app, org="globex", role="admin")
    browser = Browser(client)

    def open_choice():
        assert browser.log_in().headers["Location"] == "/admin/login/organization"
        picker = browser.get("/admin/login/organization").get_data(as_text=True)
        users = re.findall(r'name="user" value="([^"]+)"', picker)
        return client.get_cookie("rolecall_admin", path="/admin").value, users

    def replay(cookie, user):
        client.set_cookie("rolecall_admin", cookie, path="/admin")
        browser.get("/admin/login")
        return browser.post("/admin/login/organization", {"user": user})

    cookie, users = open_choice()
    assert "choosing" not in cookie  # the cookie names the choice by a secret, nothing more
    assert browser.post("/admin/login/organization", {"user": users[0]}).status_code == 303
    used = replay(cookie, users[1])  # the same choice, for the other org: used already
    assert used.headers["Location"] == "/admin/login"

    cookie, users = open_choice()
    browser.post("/admin/logout")
    assert replay(cookie, users[1]).headers["Location"] == "/admin/login"

    cookie, users = open_choice()
    create_admin(app, org="globex", role="admin", password="another long passphrase")
    # The globex account's password changed: the choice no longer offers it.
    assert replay(cookie, users[1]).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_next_takes_the_admin_back_but_never_off_site(world, app, client):
    """After login the admin lands where they were going, if that is an /admin page."""
    create_admin(app)
    browser = Browser(client)
    browser.get("/admin/login?next=/admin/directories")
    answer = client.post(
        "/admin/login?next=/admin/directories",
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": browser.token},
    )
    assert answer.headers["Location"] == "/admin/directories"
    for target in ("https://evil.example/", "//evil.example/admin/", "/admin//evil"):
        client.post("/admin/logout", data={"csrf_token": browser.token})
        browser.get("/admin/login")
        answer = client.post(
            f"/admin/login?next={target}",
            data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": browser.token},
        )
        assert answer.headers["Location"] == "/admin/", target


def test_forms_without_their_csrf_token_are_refused(world, app, client):
    """A POST without the token (a forged cross-site form) is a 400 and changes nothing."""
    create_admin(app)
    browser = Browser(client)
    browser.get("/admin/login")
    refused = browser.post(
        "/admin/login", {"email": "ada@example.com", "password": PASSWORD}, False
    )
    assert refused.status_code == 400 and "Form refused" in refused.get_data(as_text=True)
    assert browser.log_in().status_code == 303
    browser.get("/admin/directories/okta")
    paused = browser.post("/admin/directories/okta/disable", csrf=False)
    assert paused.status_code == 400
    assert world.scim.get("/Users").status_code == 200  # still provisioning
    assert browser.post("/admin/logout", csrf=False).status_code == 400
    assert browser.get("/admin/").status_code == 200  # still logged in


def test_five_wrong_passwords_lock_the_account(world, app, client):
    """The fifth failure in a row locks the account: even the right password waits."""
    create_admin(app)
    browser = Browser(client)
    for _ in range(5):
        assert browser.log_in(password="wrong password!").status_code == 401
    locked = browser.log_in()
    assert locked.status_code == 401 and "Wrong email or password" in locked.text
    unknown = browser.log_in(email="nobody@example.com")  # said the same way: no account told
    assert _flashes(unknown.text) == _flashes(locked.text)
    with app.app_context():
        credential = get_session().scalars(select(AdminCredential)).one()
        assert credential.locked_until > utcnow()
        credential.locked_until = utcnow() - timedelta(seconds=1)
        get_session().commit()
    assert browser.log_in().status_code == 303


def test_a_deactivated_user_is_logged_out(world, app, client):
    """When the IdP deactivates the admin's user, their session ends at once, for good."""
    user_id = world.user("ada@example.com")
    create_admin(app)  # the IdP's user gets the password: no second user
    browser = Browser(client)
    assert browser.log_in().status_code == 303
    session_cookie = client.get_cookie("rolecall_admin", path="/admin").value
    assert world.ok("user", "list", "--org", "acme").count("ada@example.com") == 1
    world.set_active(user_id, False)
    assert browser.get("/admin/").status_code == 302
    assert browser.log_in().status_code == 401
    # Reactivated, the session of before stays ended: the admin logs in again.
    world.set_active(user_id, True)
    client.set_cookie("rolecall_admin", session_cookie, path="/admin")
    assert browser.get("/admin/").status_code == 302
    assert browser.log_in().status_code == 303


def test_admin_create_refuses_bad_input(world, app):
    """A short password or a non-email is exit 2; running it again sets a new password."""
    runner = app.test_cli_runner()
    args = ["admin", "create", "--org", "acme", "--email", "ada@example.com", "--password-stdin"]
    assert runner.invoke(cli, args, input="short\n").exit_code == 2
    bad_email = ["admin", "create", "--org", "acme", "--email", "ada", "--password-stdin"]
    assert runner.invoke(cli, bad_email, input=PASSWORD + "\n").exit_code == 2
    create_admin(app)
    create_admin(app, password="another long password")
    explained = world.explain("ada@example.com", "org")
    assert explained["role"] == "owner"
    assert [s["detail"] for s in explained["sources"] if s["wins"]] == ["granted directly"]


def test_admin_create_takes_its_role_in_any_case(world, app):
    """ROLE is case-insensitive across the scriptable interface, --role Admin included."""
    create_admin(app, role="Admin")
    assert world.explain("ada@example.com", "org")["role"] == "admin"


def test_directories_show_the_connection_and_its_health(world, browser):
    """The list and the page: SCIM URL, provider, live tokens, and the error rate."""
    alice = world.user("alice")
    assert world.scim.get("/Users/nope").status_code == 404
    assert world.scim.get("/Users/nope-either").status_code == 404
    assert world.scim.get(f"/Users/{alice}").status_code == 200
    listing = browser.get("/admin/directories").get_data(as_text=True)
    assert "http://localhost/scim/v2" in listing and "okta" in listing
    page = browser.get("/admin/directories/okta").get_data(as_text=True)
    assert "last hour: 4 requests, 2 failed (50 %)" in page  # the read is counted
    assert 'class="bad"' in page  # above Entra's 40 % quarantine threshold
    assert "<code>GET /Users/{user_id}</code></td>\n      <td>1</td>" in page
    assert "GET /scim/v2/Users/" + alice not in page  # counted, not journaled
    assert "POST /scim/v2/Users" in page and "GET /scim/v2/Users/nope" in page
    failed = browser.get("/admin/directories/okta?status=errors").get_data(as_text=True)
    assert "GET /scim/v2/Users/nope" in failed and "POST /scim/v2/Users" not in failed
    posts = browser.get("/admin/directories/okta?method=POST").get_data(as_text=True)
    assert "POST /scim/v2/Users" in posts and "/Users/nope" not in posts
    assert browser.get("/admin/directories/okta?method=TRACE").status_code == 400


def test_an_admin_connects_a_directory(world, app, browser):
    """Seed 000's first step: a new Entra directory and its token, which provisions at once."""
    browser.get("/admin/directories")
    created = browser.post("/admin/directories", {"name": "entra", "provider": "entra"})
    assert created.status_code == 303  # a reload of the next page makes nothing again
    assert created.headers["Location"] == "/admin/directories/entra"
    assert "rcs_" not in created.headers.get("Set-Cookie", "")  # never kept in a cookie
    page = browser.get(created.headers["Location"]).get_data(as_text=True)
    assert "Directory entra is created" in page and "<strong>Tenant URL</strong>" in page
    token = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert 'id="new-token"' not in browser.get("/admin/directories/entra").text  # shown once
    user = {"schemas": [USER_SCHEMA], "userName": "bea@example.com"}
    made = ScimClient(world.scim.client, token).post("/Users", user)
    assert made.status_code == 201
    listed = world.ok("user", "list", "--org", "acme", "--directory", "entra")
    assert "bea@example.com" in listed
    assert ">entra</a>" in browser.get("/admin/directories").get_data(as_text=True)

    taken = browser.post(
        "/admin/directories", {"name": "entra", "provider": "okta", "back": "/admin/directories"}
    )
    assert taken.status_code == 409  # the form again, with what was sent and why not
    assert "directory &#39;entra&#39; exists" in taken.text
    assert 'value="entra"' in taken.text
    empty = browser.post("/admin/directories", {"name": "", "provider": "okta"})
    assert empty.status_code == 400 and "Name: This field is required." in empty.text
    unknown = browser.post("/admin/directories", {"name": "x", "provider": "ldap"})
    assert unknown.status_code == 400 and "Not a valid choice" in unknown.text
    with app.app_context():
        names = get_session().scalars(select(Directory.name).order_by(Directory.name)).all()
    assert names == ["entra", "okta"]  # the refused forms made nothing


def test_tokens_are_created_once_rotated_and_revoked(world, app, browser):
    """A new token is shown once and works; rotation keeps old ones for the grace period."""
    browser.get("/admin/directories/okta")
    created = browser.post("/admin/directories/okta/tokens")
    assert created.status_code == 303  # the expiry left empty: never
    shown = browser.get(created.headers["Location"]).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', shown).group(1)
    assert token not in browser.get("/admin/directories/okta").text  # a reload: gone
    expiring = browser.post("/admin/directories/okta/tokens", {"expires_in_days": "30"})
    assert expiring.status_code == 303
    expiry = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"<td>{expiry} " in browser.get("/admin/directories/okta").text
    refused = browser.post("/admin/directories/okta/tokens", {"expires_in_days": "0"})
    assert refused.status_code == 400
    assert "expires in 1 to 3650 days" in refused.text
    scim = ScimClient(world.scim.client, token)
    assert scim.get("/Users").status_code == 200
    rotated = browser.post("/admin/directories/okta/tokens/rotate", {"grace_hours": "2"})
    assert rotated.status_code == 303
    text = browser.get(rotated.headers["Location"]).get_data(as_text=True)
    assert "3 older token(s) expire in 2 hour(s)" in text and text.count(">expiring<") == 3
    assert 'id="new-token"' in text
    assert scim.get("/Users").status_code == 200  # still within its grace
    bad = browser.post("/admin/directories/okta/tokens/rotate", {"grace_hours": "-1"})
    assert bad.status_code == 400
    with app.app_context():
        from rbac.models import DirectoryToken

        first = get_session().scalars(select(DirectoryToken).order_by(DirectoryToken.id)).first()
    browser.get("/admin/directories/okta")
    revoked = browser.post(f"/admin/directories/okta/tokens/{first.id}/revoke")
    assert revoked.status_code == 303
    assert world.scim.get("/Users").status_code == 401  # the world's token was the first
    assert "is revoked" in browser.get("/admin/directories/okta").get_data(as_text=True)


def test_pausing_a_directory_refuses_its_idp(world, browser):
    """Pause: the IdP gets 403; resume: 200 again."""
    browser.get("/admin/directories/okta")
    assert browser.post("/admin/directories/okta/disable").status_code == 303
    assert world.scim.get("/Users").status_code == 403
    page = browser.get("/admin/directories/okta").get_data(as_text=True)
    assert "paused" in page and "Resume provisioning" in page
    browser.post("/admin/directories/okta/enable")
    assert world.scim.get("/Users").status_code == 200


def test_an_owner_deletes_a_directory_after_seeing_whose_access_goes(world, browser):
    """The directory page offers deletion; its GET previews the access lost and changes nothing."""
    world.user("alice")
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
    page = browser.get("/admin/directories/okta").get_data(as_text=True)
    assert "Delete directory…" in page and "Deletes its 1 user(s) and 0 group(s)" in page
    preview = browser.get("/admin/directories/okta/delete")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "alice" in text and "project:web" in text
    assert world.scim.get("/Users").status_code == 200  # the preview changed nothing
    done = browser.post("/admin/directories/okta/delete")
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/directories")
    assert world.scim.get("/Users").status_code == 401  # its token went with it
    listed = browser.get("/admin/directories").get_data(as_text=True)
    assert "Directory okta is deleted" in listed and "/admin/directories/okta" not in listed
    assert browser.get("/admin/directories/okta").status_code == 404
    (_, deleted), *_ = world.events("directory.deleted")
    assert deleted["actor"] == "admin:ada@example.com" and deleted["users"] == 1


def test_another_org_directories_are_404_like_made_up_ones(world, app, browser):
    """Acme's admin asking for globex's directory gets what a made-up name gets."""
    make_directory(app, org_slug="globex", name="entra")
    foreign = browser.get("/admin/directories/entra")
    made_up = browser.get("/admin/directories/ghost")
    assert foreign.status_code == made_up.status_code == 404
    text = foreign.get_data(as_text=True).replace("entra", "X")
    assert text == made_up.get_data(as_text=True).replace("ghost", "X")
    browser.get("/admin/directories/okta")
    assert browser.post("/admin/directories/entra/disable").status_code == 404


def test_an_admin_without_the_org_role_may_not_manage_directories(world, app, browser):
    """Roles decide: once ada's Owner grant is revoked, directories are 403 to her."""
    create_admin(app, email="bob@example.com")  # another Owner, so the rail lets ada go
    world.ok("revoke", "--org", "acme", "--user", "ada@example.com", "--role", "owner", "org")
    refused = browser.get("/admin/directories")
    assert refused.status_code == 403
    assert "may not org.manage_settings" in refused.get_data(as_text=True)
    assert browser.get("/admin/").status_code == 200


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', page)


def test_one_org_password_does_not_lock_the_other_org_account(world, app, client):
    """Two orgs, two passwords for one email: logging into one never counts against the other."""
    make_directory(app, org_slug="globex", name="entra")
    create_admin(app)
    create_admin(app, org="globex", password="globex's own long password")
    browser = Browser(client)
    for _ in range(6):
        assert browser.log_in().status_code == 303
        browser.post("/admin/logout")
    assert browser.log_in(password="globex's own long password").status_code == 303


def test_a_new_password_ends_the_sessions_of_the_old_one(world, app, admin, client):
    """`admin create` again (a reset) logs out every browser that used the old password."""
    assert admin.get("/admin/").status_code == 200
    create_admin(app, password="a brand new password here")
    assert client.get("/admin/").status_code == 302
    assert admin.log_in(password="a brand new password here").status_code == 303


def test_logging_in_again_ends_the_previous_session(world, app, admin, client):
    """A second login from the same browser ends the first session on the server."""
    first = client.get_cookie("rolecall_admin", path="/admin").value
    assert admin.log_in().status_code == 303
    with app.app_context():
        ended = get_session().scalars(select(AdminSession).order_by(AdminSession.id)).all()
        assert [s.ended_at is not None for s in ended] == [True, False]
    client.set_cookie("rolecall_admin", first, path="/admin")
    assert client.get("/admin/").status_code == 302


def test_a_control_character_in_next_is_never_followed(world, app, client):
    """`next` with a newline is not a page: the admin lands on the overview (no 500)."""
    create_admin(app)
    browser = Browser(client)
    browser.get("/admin/login")
    answer = client.post(
        "/admin/login?next=/admin/%0d%0aX:1",
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": browser.token},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/"


def test_a_directory_name_is_one_url_segment(world, browser):
    """A name with a slash (or `..`) could never be managed by URL: refused at creation."""
    browser.get("/admin/directories")
    for name in ("a/b", "..", "."):
        answer = browser.post(
            "/admin/directories", {"name": name, "provider": "okta", "back": "/admin/directories"}
        )
        assert answer.status_code == 400, name
        assert "not a directory name" in answer.text
    assert (
        world.run(
            "bootstrap", "--org", "acme", "--directory", "x/y", "--provider", "okta"
        ).exit_code
        == 2
    )
