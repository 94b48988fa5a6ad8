"""/healthz, /readyz, /metrics and the JSON request log with its correlation id."""

import json
import re

from app import create_app
from tests.conftest import make_directory
from tests.webhook_receiver import receiving
from tests.webhooks.test_webhooks import create_webhook, deliver
from web.db import get_engine

TOKEN = "metrics-token-for-tests"


def test_health_and_readiness(app, client, monkeypatch):
    """Up and at the migrations' head: 200; readiness names the head to the metrics bearer."""
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok"}  # no revision for anyone
    monkeypatch.setenv("ROLECALL_METRICS_TOKEN", TOKEN)
    assert client.get("/readyz").get_json() == {"status": "ok"}
    ready = client.get("/readyz", headers=_bearer())
    assert ready.status_code == 200 and re.fullmatch(r"\d{4}", ready.get_json()["migrations"])


def test_not_ready_without_the_database_or_behind_its_migrations(tmp_path, monkeypatch):
    """A database behind head, or none reachable: 503 saying which, the detail to the bearer."""
    monkeypatch.setenv("ROLECALL_METRICS_TOKEN", TOKEN)
    from alembic import command

    from app.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    behind = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x"})
    with behind.app_context(), get_engine().begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
    anonymous = behind.test_client().get("/readyz")
    assert anonymous.status_code == 503
    assert anonymous.get_json() == {"status": "unavailable", "failing": "migrations"}
    answer = behind.test_client().get("/readyz", headers=_bearer())
    assert answer.status_code == 503
    assert answer.get_json()["migrations"]["database"] == "0009"
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite3'}"
    down = create_app({"DATABASE_URL": missing, "TESTING": True, "SECRET_KEY": "x"})
    assert down.test_client().get("/readyz").get_json()["failing"] == "database"
    answer = down.test_client().get("/readyz", headers=_bearer())
    assert answer.status_code == 503 and answer.get_json()["database"] == "OperationalError"


def test_metrics_need_their_token(app, client, monkeypatch):
    """Unset: /metrics is a 404 like any missing page; set: only its bearer reads them."""
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("ROLECALL_METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    assert client.get("/metrics", headers=_bearer()).status_code == 200


def test_metrics_count_requests_scim_errors_and_webhook_deliveries(world, app, client, monkeypatch):
    """Requests by route and status, SCIM errors by directory, deliveries, backlog and lag."""
    monkeypatch.setenv("ROLECALL_METRICS_TOKEN", TOKEN)
    world.scim.get("/Users")
    world.scim.get("/Users/nope")
    make_directory(app, org_slug="globex", name="entra")
    with receiving() as receiver:
        endpoint, _ = create_webhook(world, receiver.url)
        labels = f'org="acme",endpoint="{endpoint}"'
        world.user("alice")
        waiting = _metrics(client)
        assert re.search(rf"rolecall_webhook_backlog_events\{{{labels}\}} [1-9]", waiting)
        assert re.search(rf"rolecall_webhook_lag_seconds\{{{labels}\}} [0-9.]+", waiting)
        deliver(app, receiver, lambda r: len(r.accepted()) >= 2)
    text = _metrics(client)
    assert re.search(
        r'rolecall_http_requests_total\{method="GET",route="/scim/v2/Users",status="200"\} '
        r"[1-9]",
        text,
    )
    assert 'rolecall_http_request_duration_seconds_bucket{le="0.001",method="GET"' in text
    assert 'rolecall_scim_errors_last_hour{org="acme",directory="okta"} 1' in text
    assert 'rolecall_scim_errors_last_hour{org="globex",directory="entra"} 0' in text
    delivered = rf'rolecall_webhook_deliveries_total\{{{labels},result="delivered"\}} [2-9]'
    assert re.search(delivered, text)
    assert f"rolecall_webhook_backlog_events{{{labels}}} 0" in text
    assert "/metrics" not in re.findall(r'route="([^"]+)"', text)


def test_each_request_logs_a_json_line_with_its_correlation_id(world, client, capsys):
    """The IdP's request id is echoed and logged; without one, a fresh id is made."""
    capsys.readouterr()
    answer = world.scim.client.get(
        "/scim/v2/Users",
        headers={**world.scim.headers, "client-request-id": "entra-1234"},
    )
    assert answer.headers["X-Request-Id"] == "entra-1234"
    fresh = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    scim = next(line for line in lines if line.get("correlation_id") == "entra-1234")
    assert (scim["logger"], scim["method"], scim["route"], scim["status"]) == (
        "rolecall.request",
        "GET",
        "/scim/v2/Users",
        200,
    )
    assert scim["duration_ms"] > 0 and scim["level"] == "info"


def _bearer() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}


def _metrics(client) -> str:
    answer = client.get("/metrics", headers=_bearer())
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_a_secret_or_an_odd_value_is_never_taken_as_a_request_id(world, client):
    """A token sent as X-Request-Id (a careless client) or a spaced value gets a fresh id."""
    for sent in (world.directory.token, "rck_abc", "two words", "x" * 65, "a\\u2028b"):
        answer = client.get("/healthz", headers={"X-Request-Id": sent})
        assert answer.headers["X-Request-Id"] != sent
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])
    assert (
        client.get("/healthz", headers={"X-Request-Id": "okta-req:42"}).headers["X-Request-Id"]
        == "okta-req:42"
    )


def test_metric_labels_come_from_closed_sets(world, client, monkeypatch):
    """Made-up methods and paths add no series: they count as `other` and `(unmatched)`."""
    monkeypatch.setenv("ROLECALL_METRICS_TOKEN", TOKEN)
    world.scim.get("/Users")
    before = _metrics(client)
    for n in range(40):
        client.open("/scim/v2/Users", method=f"X{n}QUERY")
        client.get(f"/made-up/{n}")
    after = _metrics(client)
    series = re.compile(r"^rolecall_http_requests_total\{([^}]*)\}", re.MULTILINE)
    added = set(series.findall(after)) - set(series.findall(before))
    assert added <= {
        'method="other",route="(unmatched)",status="405"',
        'method="GET",route="(unmatched)",status="404"',
    }
    assert "X1QUERY" not in after and "made-up" not in after
    assert _other_methods(after) - _other_methods(before) == 40


def _other_methods(text: str) -> float:
    counted = re.search(
        r'rolecall_http_requests_total\{method="other",route="\(unmatched\)",status="405"\} (\S+)',
        text,
    )
    return float(counted.group(1)) if counted else 0.0


def test_a_secret_in_the_path_is_not_logged(app, client, capsys):
    """A one-time set-password link logs its rule, not its token; other paths log as sent."""
    capsys.readouterr()
    client.get("/admin/password/rcp_secret-of-the-link")
    client.get("/admin/users/u-1234")
    err = capsys.readouterr().err
    assert "rcp_secret-of-the-link" not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    paths = {line["route"]: line["path"] for line in lines if "route" in line}
    assert paths["/admin/password/<token>"] == "/admin/password/<token>"
    assert paths["/admin/users/<user_id>"] == "/admin/users/u-1234"


def test_text_log_lines_escape_control_characters():
    """In text format, a message repeating a client's bytes cannot forge a line or steer a tty."""
    import logging

    from app.observability import EscapingFormatter

    formatter = EscapingFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("rolecall", logging.WARNING, __file__, 1, "bad %s", None, None)
    record.args = ("name\x1b[2J\rforged\nline",)
    assert formatter.format(record) == "WARNING bad name\\x1b[2J\\rforged\\nline"
