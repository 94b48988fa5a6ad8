"""Sign-in under attack: limits per address and per email, a bound on hashing, one hash a try.

A flood of sign-in attempts once starved SCIM (each attempt a scrypt per account of the email,
on every worker); an email with accounts in two organizations took twice as long to refuse,
which told who they were. The flood itself is measured by `bench/login_flood.py`.
"""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from rbac import accounts, lookups, tenancy
from rbac.db import utcnow
from rbac.models import AdminSession, LoginAttempts
from tests.conftest import PASSWORD, Browser, create_admin, make_directory
from web.db import get_engine, get_session


@pytest.fixture
def hashes(monkeypatch):
    """Count the scrypt computations (each one is 50 to 100 ms of a core)."""
    counted = []
    real = accounts._scrypt

    def counting(*args):
        counted.append(args)
        return real(*args)

    monkeypatch.setattr(accounts, "_scrypt", counting)
    return counted


def test_one_hash_per_attempt_however_many_accounts_the_email_has(world, app, hashes):
    """Two organizations, two passwords, one email: one hash checks both; so does a miss."""
    make_directory(app, org_slug="globex", name="entra")
    create_admin(app)
    create_admin(app, org="globex", password="globex's own long password")
    with app.app_context():
        session = get_session()
        for password, opened in ((PASSWORD, ["acme"]), ("globex's own long password", ["globex"])):
            hashes.clear()
            result = accounts.log_in(session, "ada@example.com", password)
            assert [u.organization_id for u in result.users] == [
                tenancy.get_organization(session, slug).id for slug in opened
            ]
            assert len(hashes) == 1
        for email in ("ada@example.com", "nobody@example.com"):
            hashes.clear()
            assert accounts.log_in(session, email, "wrong password").users == ()
            assert len(hashes) == 1, email
        session.rollback()


def test_attempts_past_the_address_limit_are_refused_before_any_hash(
    world, app, client, hashes, monkeypatch
):
    """The fourth attempt from one address in the window: 429, no hash; elsewhere, signed in."""
    monkeypatch.setattr(accounts, "ADDRESS_LIMIT", (3, timedelta(minutes=5)))
    create_admin(app)
    browser = Browser(client)
    for n in range(3):
        assert browser.log_in(email=f"guess{n}@example.com").status_code == 401
    hashes.clear()
    refused = browser.log_in()
    assert refused.status_code == 429 and hashes == []
    assert "Too many sign-in attempts: try again in 5 minute(s)." in refused.text
    assert 290 <= int(refused.headers["Retry-After"]) <= 300
    elsewhere = Browser(client)
    client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert elsewhere.log_in().status_code == 303


def test_the_email_limit_is_lifted_by_an_owner_in_admin_and_by_the_operator(
    world, app, client, monkeypatch
):
    """Guesses at ada's email from many addresses lock her out; bob (Owner) unlocks her."""
    monkeypatch.setattr(accounts, "EMAIL_LIMIT", (3, timedelta(minutes=15)))
    create_admin(app)
    create_admin(app, email="bob@example.com")
    for n in range(4):
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        Browser(client).log_in(password="a wrong guess!")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.1"
    assert Browser(client).log_in().status_code == 429  # even the right password
    bob = Browser(client)
    assert bob.log_in("bob@example.com").status_code == 303
    page = bob.get("/admin/users/" + _user_id(app, "ada@example.com")).get_data(as_text=True)
    assert "Sign-in locked until" in page
    assert bob.post(f"/admin/users/{_user_id(app, 'ada@example.com')}/unlock").status_code == 303
    assert Browser(client).log_in().status_code == 303
    (_, unlocked), *_ = world.events("admin.login.unlocked")
    assert unlocked["actor"] == "admin:bob@example.com"
    # The operator's way, for when no other admin can sign in (docs/security.md).
    for n in range(4):
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{10 + n}"
        Browser(client).log_in(password="a wrong guess!")
    assert Browser(client).log_in().status_code == 429
    world.ok("admin", "unlock", "--org", "acme", "--email", "ada@example.com")
    assert Browser(client).log_in().status_code == 303


def test_a_busy_host_refuses_a_sign_in_at_once(world, app, client, hashes):
    """With every hashing slot of the host held, a sign-in is a 429 at once, with no hash."""
    create_admin(app)
    browser = Browser(client)
    browser.get("/admin/login")
    slots = app.extensions["rolecall.hash_slots"]
    held, release = [threading.Event() for _ in range(2)]

    def hold(left: int):
        with slots.take():
            if left > 1:
                hold(left - 1)
            else:
                held.set()
                release.wait(10)

    holder = threading.Thread(target=hold, args=(len(slots.paths),))
    holder.start()
    try:
        assert held.wait(5)
        hashes.clear()
        busy = browser.post("/admin/login", {"email": "ada@example.com", "password": PASSWORD})
        assert busy.status_code == 429 and hashes == []
        assert "Too many sign-ins at once" in busy.get_data(as_text=True)
    finally:
        release.set()
        holder.join(5)
    assert browser.log_in().status_code == 303


def test_a_window_reopens_and_old_counts_are_pruned(world, app):
    """Past its window a key counts from one again; rows of long-closed windows go."""
    with app.app_context():
        session = get_session()
        start = utcnow()
        for _ in range(accounts.EMAIL_LIMIT[0]):
            accounts.refuse_past_limits(session, "x@example.com", None, start)
            accounts.count_attempt(session, "x@example.com", None, start)
        with pytest.raises(accounts.TooManyAttempts):
            accounts.refuse_past_limits(session, "x@example.com", "192.0.2.1", start)
        later = start + accounts.EMAIL_LIMIT[1]
        accounts.refuse_past_limits(session, "x@example.com", "192.0.2.1", later)
        accounts.count_attempt(session, "x@example.com", "192.0.2.1", later)
        assert session.get(LoginAttempts, "email:x@example.com").attempts == 1
        accounts.count_attempt(session, "y@example.com", None, later + timedelta(hours=1))
        keys = {row.key for row in session.query(LoginAttempts)}
        assert keys == {"email:y@example.com"}
        session.rollback()


def test_behind_a_proxy_the_forwarded_address_counts(world, app, database_url):
    """With ROLECALL_TRUSTED_PROXIES=1, the limit counts the address the proxy forwarded."""
    behind = create_app({"DATABASE_URL": database_url, "TESTING": True, "TRUSTED_PROXIES": 1})
    try:
        proxied = behind.test_client()
        browser = Browser(proxied)
        browser.get("/admin/login")
        proxied.post(
            "/admin/login",
            data={"email": "z@example.com", "password": "nope", "csrf_token": browser.token},
            headers={"X-Forwarded-For": "203.0.113.50"},
        )
    finally:
        with behind.app_context():
            get_engine().dispose()  # its own pool, closed now rather than when collected
    with app.app_context():
        keys = {row.key for row in get_session().query(LoginAttempts)}
    assert "address:203.0.113.50" in keys and "address:127.0.0.1" not in keys


def _user_id(app, user_name: str) -> str:
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        return lookups.find_user(session, org, user_name).id


def test_sessions_are_capped_per_user_and_old_ones_pruned(world, app):
    """The eleventh login ends the oldest live session; sessions over a day ago are deleted."""
    create_admin(app)
    with app.app_context():
        session = get_session()
        ada = lookups.find_user(
            session, tenancy.get_organization(session, "acme"), "ada@example.com"
        )
        tokens = [accounts.open_session(session, ada) for _ in range(accounts.MAX_SESSIONS + 1)]
        assert accounts.session_user(session, tokens[0]) is None  # the oldest, ended
        assert all(accounts.session_user(session, t) is not None for t in tokens[1:])
        long_ago = utcnow() - accounts.SESSION_RETENTION - timedelta(minutes=1)
        for row in session.scalars(select(AdminSession)):
            row.expires_at, row.ended_at = long_ago, row.ended_at and long_ago
        session.flush()
        accounts.open_session(session, ada)
        assert len(session.scalars(select(AdminSession)).all()) == 1
        session.rollback()
