"""The request journal: one line per authenticated SCIM request, written even when it fails."""

from datetime import timedelta

from sqlalchemy import func, select, update

from app.cli import cli
from app.db import get_engine, get_session
from rbac.db import utcnow
from rbac.journal import prune_journal, record_request
from rbac.models import JournalEntry, Provider
from tests.conftest import USER_SCHEMA, ScimClient, make_directory


def _entries(app):
    with app.app_context():
        return list(get_session().scalars(select(JournalEntry).order_by(JournalEntry.id)))


def test_each_request_is_journaled_with_status_duration_and_correlation_id(app, scim):
    """Successes and failures both leave a line; the failure's detail is kept, its change is not."""
    scim.create_user("alice")
    failed = scim.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "ALICE"}, headers={"X-Request-Id": "abc-1"}
    )
    assert failed.status_code == 409
    assert failed.headers["X-Request-Id"] == "abc-1"
    entries = _entries(app)
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("POST", "/scim/v2/Users", 201),
        ("POST", "/scim/v2/Users", 409),
    ]
    assert entries[1].correlation_id == "abc-1"
    assert "already taken" in entries[1].error_detail
    assert all(e.duration_ms > 0 for e in entries)
    assert entries[0].correlation_id and entries[0].error_detail is None
    assert scim.get("/Users").get_json()["totalResults"] == 1


def test_no_secret_reaches_the_journal(app, directory, scim):
    """Neither the bearer token nor a password is written to the journal."""
    scim.create_user("bob", password="hunter2-secret")
    scim.get("/Users", query_string={"filter": 'userName eq "bob"'})
    text = repr([(e.path, e.error_detail, e.tolerances) for e in _entries(app)])
    assert directory.token not in text and "hunter2" not in text
    assert "/scim/v2/Users?filter=userName+eq+%22bob%22" in text


def test_unauthenticated_requests_are_not_journaled(app, client, directory):
    """A request without a valid token belongs to no directory and leaves no line."""
    client.get("/scim/v2/Users", headers={"Authorization": "Bearer nope"})
    assert _entries(app) == []


def test_entra_tolerances_are_recorded(app, client):
    """The quirks an Entra request needed are named on its journal line."""
    scim = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    user = scim.create_user("alice")
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}]
    )
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert _entries(app)[-1].tolerances == ["entra:capitalised-op", "entra:boolean-strings"]


def test_prune_keeps_the_newest_lines_and_drops_old_ones(app, directory):
    """Pruning keeps at most max_rows lines per directory and none older than max_age."""
    with app.app_context():
        engine = get_engine()
        for n in range(10):
            record_request(
                engine,
                directory_id=directory.id,
                correlation_id=str(n),
                method="GET",
                path="/scim/v2/Users",
                status=200,
                duration_ms=1.0,
                tolerances=[],
            )
        pruned = prune_journal(engine, directory.id, max_rows=4, max_age=timedelta(days=30))
        assert pruned == 6
        kept = [e.correlation_id for e in _entries(app)]
        assert kept == ["6", "7", "8", "9"]
        with engine.begin() as connection:
            connection.execute(
                update(JournalEntry)
                .where(JournalEntry.correlation_id.in_(["6", "7"]))
                .values(created_at=utcnow() - timedelta(days=40))
            )
        assert prune_journal(engine, directory.id, max_rows=4, max_age=timedelta(days=30)) == 2
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(JournalEntry)) == 2


def test_journal_command_lists_newest_first_and_filters_errors(app, directory, scim):
    """`rolecall journal` prints the newest lines first; --errors keeps the failures."""
    scim.create_user("alice")
    scim.get("/Users/missing")
    runner = app.test_cli_runner()
    args = ["journal", "--org", directory.org_slug, "--directory", directory.name]
    lines = runner.invoke(cli, args).output.strip().splitlines()
    assert [line.split("\t")[1] for line in lines[1:]] == ["404", "201"]
    errors = runner.invoke(cli, [*args, "--errors"]).output.strip().splitlines()
    assert len(errors) == 2 and "no user 'missing'" in errors[1]
