"""The request journal: a line per SCIM write or failure (even when it fails); reads counted."""

from datetime import timedelta

from sqlalchemy import event, func, select, update

from app.cli import cli
from rbac.db import utcnow
from rbac.journal import (
    prune_journal,
    read_counts,
    recent_requests,
    record_request,
    request_counts,
)
from rbac.models import JournalEntry, Provider, ReadCount
from scim.journal import ReadCounter
from tests.conftest import USER_SCHEMA, ScimClient, make_directory
from web.db import get_engine, get_session


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
    # A failed read is journaled with its query (a successful one is only counted).
    assert scim.get("/Users", query_string={"filter": 'userName zz "bob"'}).status_code == 400
    text = repr([(e.path, e.error_detail, e.tolerances) for e in _entries(app)])
    assert directory.token not in text and "hunter2" not in text
    assert "/scim/v2/Users?filter=userName+zz+%22bob%22" in text


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


def test_a_successful_read_writes_nothing_and_is_counted(app, scim, directory):
    """GETs and .search are counted per minute and route; writes and failures get lines."""
    user_id = scim.create_user("ada")["id"]
    with app.app_context():
        written = []
        listener = lambda *args: written.append(args[2])  # noqa: E731
        event.listen(get_engine(), "before_cursor_execute", listener)
        counter = app.extensions.get("rolecall.read_counter")
        try:
            app.config["READ_COUNTS_FLUSH_SECONDS"] = 60
            if counter is not None:
                counter.flush_seconds = 60
                counter.flush()
            for _ in range(3):
                assert scim.get(f"/Users/{user_id}").status_code == 200
            assert scim.post("/Users/.search", {"filter": 'userName eq "ada"'}).status_code == 200
        finally:
            event.remove(get_engine(), "before_cursor_execute", listener)
        assert not [s for s in written if not s.lstrip().upper().startswith("SELECT")]
        counter = app.extensions["rolecall.read_counter"]
        counter.flush()
        app.config["READ_COUNTS_FLUSH_SECONDS"] = counter.flush_seconds = 0

        assert scim.get("/Users/nope").status_code == 404
        session = get_session()
        counts = {c.route: c.count for c in read_counts(session, directory.id, _an_hour_ago())}
        assert counts == {"GET /Users/{user_id}": 3, "POST /Users/.search": 1}
        lines = [(e.method, e.path, e.status) for e in recent_requests(session, directory.id)]
        assert lines == [("GET", "/scim/v2/Users/nope", 404), ("POST", "/scim/v2/Users", 201)]
        # The directory's health counts every request: 2 lines and 4 counted reads.
        assert request_counts(session, directory.id, _an_hour_ago()) == (6, 1)


def test_counts_of_one_minute_add_up_across_flushes(app, scim, directory):
    """Two processes' counts of the same minute and route add up (the upsert)."""
    user_id = scim.create_user("ada")["id"]
    for _ in range(2):
        assert scim.get(f"/Users/{user_id}").status_code == 200
    with app.app_context():
        counted = read_counts(get_session(), directory.id, _an_hour_ago())
        assert [(c.route, c.count) for c in counted] == [("GET /Users/{user_id}", 2)]
        assert counted[0].duration_ms > 0


def test_a_deleted_directory_takes_its_pending_counts_with_it(app, directory):
    """Counts of a directory deleted before the flush are dropped, the others written."""
    with app.app_context():
        counter = ReadCounter(get_engine(), 60, timedelta(days=30))
        counter.count(directory.id, "GET /Users", 1.5)
        counter.count(directory.id + 1000, "GET /Users", 2.0)
        counter.flush()
        session = get_session()
        assert session.scalar(select(func.sum(ReadCount.count))) == 1
        assert counter.pending == {}


def test_old_counts_are_pruned_when_counts_are_added(app, directory):
    """Counts older than the journal's age limit go at the next flush."""
    with app.app_context():
        old = ReadCounter(get_engine(), 60, timedelta(days=30))
        old.count(directory.id, "GET /Groups", 1.0)
        minute = next(iter(old.pending))
        old.pending[(directory.id, minute[1] - timedelta(days=31), "GET /Groups")] = [5, 5.0]
        old.flush()
        assert get_session().scalar(select(func.sum(ReadCount.count))) == 1


def test_with_a_rate_limit_reads_are_journaled(app, scim, directory):
    """The rate limit counts journal lines shared by every worker: reads get lines then."""
    user_id = scim.create_user("ada")["id"]
    app.config["SCIM_RATE_LIMIT_PER_MINUTE"] = 100
    try:
        assert scim.get(f"/Users/{user_id}").status_code == 200
    finally:
        app.config["SCIM_RATE_LIMIT_PER_MINUTE"] = 0
    with app.app_context():
        methods = get_session().scalars(select(JournalEntry.method)).all()
        assert sorted(methods) == ["GET", "POST"]


def _an_hour_ago():
    return utcnow() - timedelta(hours=1)


def test_journal_command_lists_counted_reads(app, directory, scim):
    """`rolecall journal --reads` prints the last hour's counted reads, one line per minute."""
    user_id = scim.create_user("ada")["id"]
    for _ in range(2):
        assert scim.get(f"/Users/{user_id}").status_code == 200
    result = app.test_cli_runner().invoke(
        cli, ["journal", "--org", "acme", "--directory", "okta", "--reads"]
    )
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header == "minute\trequest\tcount\tmean_ms"
    assert [line.split("\t")[1:3] for line in lines] == [["GET /Users/{user_id}", "2"]]
