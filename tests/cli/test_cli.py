"""The `rolecall` commands that need no RBAC, in the forms of PRODUCT.md's scriptable interface."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.cli import cli
from app.cli import server as server_cli
from app.cli.server import served_url
from rbac.db import utcnow
from rbac.journal import recent_requests, record_request
from rbac.models import DirectoryToken
from tests import servers
from tests.conftest import ScimClient
from web.db import get_engine, get_session

ROLECALL = str(Path(sys.executable).with_name("rolecall"))


@pytest.fixture
def run(app):
    """Invoke `rolecall ARGS...` against the test app; return the click result."""
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def _token(output: str) -> str:
    return output.strip().splitlines()[-1].removeprefix("SCIM_TOKEN=")


def test_bootstrap_is_idempotent_and_prints_a_new_token_each_call(run, client):
    """Bootstrap creates what is missing, prints the base URL and a fresh working token."""
    first = run("bootstrap", "--org", "acme", "--directory", "okta", "--provider", "okta")
    second = run("bootstrap", "--org", "acme", "--directory", "okta", "--provider", "okta")
    assert first.exit_code == 0 and second.exit_code == 0
    lines = first.output.strip().splitlines()
    assert lines[0] == "SCIM_BASE_URL=http://localhost/scim/v2"
    assert lines[1].startswith("SCIM_TOKEN=rcs_")
    tokens = {_token(first.output), _token(second.output)}
    assert len(tokens) == 2
    for token in tokens:
        assert ScimClient(client, token).get("/Users").status_code == 200


def test_bootstrap_refuses_to_change_a_directory_provider(run):
    """Bootstrapping an existing directory with another provider is bad input (exit 2)."""
    run("bootstrap", "--org", "acme", "--directory", "idp", "--provider", "okta")
    result = run("bootstrap", "--org", "acme", "--directory", "idp", "--provider", "entra")
    assert result.exit_code == 2
    assert "provider" in result.output


def test_bootstrap_rejects_an_unknown_provider(run):
    """An unknown provider is a usage error (exit 2)."""
    result = run("bootstrap", "--org", "acme", "--directory", "x", "--provider", "ldap")
    assert result.exit_code == 2


def test_token_create_list_revoke(run, client):
    """A created token works, is listed without its secret, and stops working once revoked."""
    run("bootstrap", "--org", "acme", "--directory", "okta", "--provider", "okta")
    created = run("token", "create", "--org", "acme", "--directory", "okta")
    assert created.exit_code == 0
    token = created.output.strip().splitlines()[-1]
    scim = ScimClient(client, token)
    assert scim.get("/Users").status_code == 200

    listed = run("token", "list", "--org", "acme", "--directory", "okta")
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.output.strip().splitlines()[1:]]
    assert len(rows) == 2
    assert token not in listed.output
    token_id = next(row[0] for row in rows if token.startswith(row[1].rstrip("…")))
    assert all(row[5] == "active" for row in rows)

    revoked = run("token", "revoke", "--org", "acme", "--directory", "okta", token_id)
    assert revoked.exit_code == 0
    assert scim.get("/Users").status_code == 401
    listed = run("token", "list", "--org", "acme", "--directory", "okta")
    assert "revoked" in listed.output


def test_token_commands_exit_2_on_unknown_names(run):
    """Unknown organizations, directories and token ids are bad input: exit 2."""
    run("bootstrap", "--org", "acme", "--directory", "okta")
    assert run("token", "create", "--org", "nope", "--directory", "okta").exit_code == 2
    assert run("token", "create", "--org", "acme", "--directory", "nope").exit_code == 2
    assert run("token", "revoke", "--org", "acme", "--directory", "okta", "999").exit_code == 2
    assert run("token", "list", "--org", "acme").exit_code == 2


def test_expiring_token(run, client):
    """--expires-in-days sets an expiry that `token list` shows."""
    run("bootstrap", "--org", "acme", "--directory", "okta")
    created = run(
        "token", "create", "--org", "acme", "--directory", "okta", "--expires-in-days", "30"
    )
    assert (
        ScimClient(client, created.output.strip().splitlines()[-1]).get("/Users").status_code == 200
    )
    listed = run("token", "list", "--org", "acme", "--directory", "okta").output
    assert any(line.split("\t")[4] != "-" for line in listed.strip().splitlines()[1:])


def test_db_upgrade_is_repeatable(run):
    """Db upgrade on an up-to-date database succeeds."""
    result = run("db", "upgrade")
    assert result.exit_code == 0


def test_bootstrap_rejects_bad_names(run):
    """An organization slug or directory name the model cannot hold is bad input (exit 2)."""
    for org, directory in [("Not A Slug", "okta"), ("x" * 65, "okta"), ("acme", "d" * 201)]:
        result = run("bootstrap", "--org", org, "--directory", directory)
        assert result.exit_code == 2, result.output


def _last_line(result) -> str:
    return result.output.strip().splitlines()[-1]


def _token_rows(run, org="acme", directory="okta") -> dict[str, list[str]]:
    """`token list` as rows keyed by token id, after checking its header."""
    lines = run("token", "list", "--org", org, "--directory", directory).output.splitlines()
    assert lines[0] == "id\tprefix\tcreated\tlast_used\texpires\tstatus"
    return {row[0]: row for row in (line.split("\t") for line in lines[1:])}


def _token_id(rows: dict[str, list[str]], token: str) -> str:
    return next(id_ for id_, row in rows.items() if token.startswith(row[1].rstrip("…")))


def _tokens_by_id(app) -> dict[int, DirectoryToken]:
    with app.app_context():
        session = get_session()
        tokens = {token.id: token for token in session.scalars(select(DirectoryToken))}
        session.expunge_all()
        return tokens


def _set_expiry(app, token_id: str, expires_at) -> None:
    with app.app_context(), get_engine().begin() as connection:
        connection.execute(
            update(DirectoryToken)
            .where(DirectoryToken.id == int(token_id))
            .values(expires_at=expires_at)
        )


def test_token_rotate_overlaps_then_ends_the_old_tokens(app, run, client):
    """The new token works at once; the old ones work through the grace period, then stop."""
    first = _token(run("bootstrap", "--org", "acme", "--directory", "okta").output)
    second = _last_line(run("token", "create", "--org", "acme", "--directory", "okta"))
    rotated = run("token", "rotate", "--org", "acme", "--directory", "okta")
    assert rotated.exit_code == 0
    new = _last_line(rotated)
    assert new.startswith("rcs_") and new not in (first, second)
    for token in (new, first, second):
        assert ScimClient(client, token).get("/Users").status_code == 200

    rows = _token_rows(run)
    old_ids = [_token_id(rows, first), _token_id(rows, second)]
    assert rows[_token_id(rows, new)][5] == "active"
    for id_ in old_ids:
        # 24h to the nearest minute, unless this machine took over 30 seconds to get here.
        assert rows[id_][5] in ("expiring in 24h", "expiring in 23h 59m")
        assert f"token {id_} ({rows[id_][1]}) expires {rows[id_][4]} (in 24h)" in rotated.output

    # The grace period ends.
    for id_ in old_ids:
        _set_expiry(app, id_, utcnow() - timedelta(seconds=1))
    assert ScimClient(client, first).get("/Users").status_code == 401
    assert ScimClient(client, second).get("/Users").status_code == 401
    assert ScimClient(client, new).get("/Users").status_code == 200
    assert [_token_rows(run)[id_][5] for id_ in old_ids] == ["expired"] * 2


def test_token_rotate_with_no_grace_ends_the_old_tokens_now(run, client):
    """--grace-hours 0 leaves only the new token working."""
    old = _token(run("bootstrap", "--org", "acme", "--directory", "okta").output)
    rotated = run("token", "rotate", "--org", "acme", "--directory", "okta", "--grace-hours", "0")
    assert rotated.exit_code == 0
    assert "(now)" in rotated.output
    assert ScimClient(client, old).get("/Users").status_code == 401
    assert ScimClient(client, _last_line(rotated)).get("/Users").status_code == 200


def test_token_rotate_never_extends_nor_revives_a_token(app, run, client):
    """An earlier expiry is kept; revoked and expired tokens stay dead and untouched."""
    run("bootstrap", "--org", "acme", "--directory", "okta")
    args = ("--org", "acme", "--directory", "okta")
    soon = _last_line(run("token", "create", *args, "--expires-in-days", "1"))
    revoked = _last_line(run("token", "create", *args))
    expired = _last_line(run("token", "create", *args))
    rows = _token_rows(run)
    soon_id, revoked_id, expired_id = (_token_id(rows, t) for t in (soon, revoked, expired))
    run("token", "revoke", *args, revoked_id)
    _set_expiry(app, expired_id, utcnow() - timedelta(hours=1))
    before = _tokens_by_id(app)

    rotated = run("token", "rotate", *args, "--grace-hours", "48")
    assert rotated.exit_code == 0
    after = _tokens_by_id(app)
    assert after[int(soon_id)].expires_at == before[int(soon_id)].expires_at
    for id_ in (revoked_id, expired_id):
        assert after[int(id_)].expires_at == before[int(id_)].expires_at
        assert after[int(id_)].revoked_at == before[int(id_)].revoked_at
        assert f"token {id_} " not in rotated.output
    assert ScimClient(client, soon).get("/Users").status_code == 200
    assert ScimClient(client, revoked).get("/Users").status_code == 401
    assert ScimClient(client, expired).get("/Users").status_code == 401
    statuses = {id_: row[5] for id_, row in _token_rows(run).items()}
    assert statuses[soon_id] in ("expiring in 24h", "expiring in 23h 59m")
    assert statuses[revoked_id] == "revoked" and statuses[expired_id] == "expired"


def test_token_rotate_of_a_directory_without_live_tokens(run, client):
    """Rotating a directory whose tokens are all revoked just issues a working token."""
    first = _token(run("bootstrap", "--org", "acme", "--directory", "okta").output)
    run(
        "token",
        "revoke",
        "--org",
        "acme",
        "--directory",
        "okta",
        _token_id(_token_rows(run), first),
    )
    rotated = run("token", "rotate", "--org", "acme", "--directory", "okta")
    assert rotated.exit_code == 0
    assert "no other live token to expire" in rotated.output
    assert ScimClient(client, _last_line(rotated)).get("/Users").status_code == 200


def test_token_rotate_exits_2_on_bad_input(run):
    """Unknown organizations or directories and impossible grace periods are bad input."""
    run("bootstrap", "--org", "acme", "--directory", "okta")
    assert run("token", "rotate", "--org", "nope", "--directory", "okta").exit_code == 2
    assert run("token", "rotate", "--org", "acme", "--directory", "nope").exit_code == 2
    for grace in ("-1", "1000000000", "soon"):
        result = run(
            "token", "rotate", "--org", "acme", "--directory", "okta", "--grace-hours", grace
        )
        assert result.exit_code == 2


def test_token_list_shows_last_use_and_expiry(run, client):
    """A token is listed as never used until a SCIM request uses it; no expiry reads never."""
    token = _token(run("bootstrap", "--org", "acme", "--directory", "okta").output)
    row = next(iter(_token_rows(run).values()))
    assert row[3:] == ["never", "never", "active"]
    assert ScimClient(client, token).get("/Users").status_code == 200
    row = next(iter(_token_rows(run).values()))
    assert row[3] != "never" and row[3] >= row[2]
    assert row[4:] == ["never", "active"]


def test_journal_escapes_what_the_request_sent(app, run, directory, scim):
    """Newlines, tabs and escape characters from a request cannot forge journal lines or columns."""
    forged = "\n2026-01-01T00:00:00Z\t200\t1.0\tGET\t/scim/v2/Users\t-\tforged\t-"
    with app.app_context():
        record_request(
            get_engine(),
            directory_id=directory.id,
            correlation_id="id\tx\x1b[2J",
            method="GET",
            path="/scim/v2/Users/é" + forged + "\\n",
            status=200,
            duration_ms=1.0,
            tolerances=[],
        )
    result = run("journal", "--org", "acme", "--directory", "okta")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 2
    fields = lines[1].split("\t")
    assert len(fields) == 8
    assert fields[4] == "/scim/v2/Users/é\\n2026-01-01T00:00:00Z\\t200\\t1.0\\tGET\\t" + (
        "/scim/v2/Users\\t-\\tforged\\t-\\\\n"
    )
    assert fields[6] == "id\\tx\\x1b[2J"


def test_journal_escapes_a_real_request_path(app, run, scim, directory):
    """A percent-encoded newline and tab in a SCIM request path are stored and printed escaped."""
    assert scim.get("/Users/abc%0A2026-01-01T00:00:00Z%09200%09x").status_code == 404
    with app.app_context():
        stored = recent_requests(get_session(), directory.id)[0].path
    assert stored == "/scim/v2/Users/abc\\n2026-01-01T00:00:00Z\\t200\\tx"
    lines = run("journal", "--org", "acme", "--directory", "okta").output.splitlines()
    assert len(lines) == 2
    fields = lines[1].split("\t")
    assert len(fields) == 8
    assert fields[4] == "/scim/v2/Users/abc\\n2026-01-01T00:00:00Z\\t200\\tx"


def test_run_prints_the_url_it_serves_on(app, run, monkeypatch):
    """Without ROLECALL_PUBLIC_URL, `run` prints the address it binds, IPv6 in brackets."""
    served = []
    monkeypatch.setattr(server_cli, "_serve", lambda app, bind, workers: served.append(bind))
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    result = run("run", "--host", "::1", "--port", "18765")
    assert result.exit_code == 0
    assert "SCIM_BASE_URL=http://[::1]:18765/scim/v2" in result.output.splitlines()
    assert served == ["[::1]:18765"]

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://scim.example.com/")
    result = run("run", "--port", "18765")
    assert "SCIM_BASE_URL=https://scim.example.com/scim/v2" in result.output.splitlines()
    assert served[-1] == "127.0.0.1:18765"


def test_served_url_names_a_reachable_address():
    """A wildcard bind is reached on loopback; IPv6 addresses are bracketed once."""
    assert served_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert served_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert served_url("::", 8000) == "http://[::1]:8000"
    assert served_url("[::1]", 8000) == "http://[::1]:8000"
    assert served_url("localhost", 80) == "http://localhost:80"


def test_bootstrap_without_public_url_names_the_default_run_address(app, run, monkeypatch):
    """Bootstrap cannot know the port: without ROLECALL_PUBLIC_URL it names run's default."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    result = run("bootstrap", "--org", "acme", "--directory", "okta")
    assert result.output.splitlines()[0] == "SCIM_BASE_URL=http://127.0.0.1:8000/scim/v2"


def _unusable_databases(tmp_path) -> list[tuple[str, str]]:
    """DATABASE_URLs naming no usable database, each with the reason its error must give."""
    urls = [
        (f"sqlite:///{tmp_path}/empty.sqlite3", "not migrated: run `rolecall db upgrade`"),
        (f"postgresql+psycopg://nobody@127.0.0.1:{servers.free_port()}/none", "refused"),
        ("not-a-url", "Could not parse"),
    ]
    test_url = os.environ.get("ROLECALL_TEST_DATABASE_URL", "")
    if test_url.startswith("postgresql"):  # a live server whose tables this search path hides
        hidden = f"{test_url}{'&' if '?' in test_url else '?'}options=-csearch_path%3Dnowhere"
        urls.append((hidden, "not migrated: run `rolecall db upgrade`"))
    return urls


def test_a_command_whose_database_is_unusable_exits_3_never_1(tmp_path):
    """Exit 1 is check's "denied" and verify's "drift": a broken setup must read as neither."""
    for url, reason in _unusable_databases(tmp_path):
        for command in (["check", "--org", "acme", "ann", "asset.run", "org"], ["verify"]):
            done = subprocess.run(
                [ROLECALL, *command],
                env={**os.environ, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 3, (url, command, done.stderr)
            assert done.stderr.startswith("Error: the database cannot be used: "), done.stderr
            assert reason in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_an_unexpected_failure_exits_3_with_its_traceback(run, monkeypatch):
    """A bug is no "no" either: the traceback goes to standard error and the exit code is 3."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(server_cli.tenancy, "bootstrap_directory", broken)
    result = run("bootstrap", "--org", "acme", "--directory", "okta")
    assert result.exit_code == 3
    assert "Traceback" in result.output and "RuntimeError: a bug" in result.output
    assert result.output.rstrip().endswith("Error: the command failed unexpectedly (above)")
