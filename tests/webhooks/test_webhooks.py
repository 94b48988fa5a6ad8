"""Webhooks: endpoints managed from the CLI, and delivery (app.worker) to a real local receiver.

Delivery runs in process here, one round at a time (`deliver_some`), against a real HTTP
server on loopback; tests/webhooks/test_webhook_workers.py runs `rolecall worker` processes.
"""

import ipaddress
import random
import re
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import WebhookVerificationError

from app import worker
from app.worker import outbound
from rbac import tenancy, webhooks
from rbac.db import utcnow
from rbac.event_log import read_events
from rbac.models import DeadLetter, Event, WebhookEndpoint
from tests.webhook_receiver import Behaviour, receiving, verify
from web.db import get_session

FAST = worker.WorkerSettings(
    threads=1,
    poll_seconds=0.05,
    delivery=webhooks.DeliveryPolicy(
        retry_base=timedelta(milliseconds=20),
        retry_max=timedelta(milliseconds=100),
        give_up_after=timedelta(minutes=5),
        lease=timedelta(seconds=30),
    ),
    outbound=outbound.OutboundPolicy(timeout=2.0),
)


def create_webhook(world, url: str, *events: str) -> tuple[int, str]:
    """`rolecall webhook create`; return the endpoint's id and secret."""
    args = ["webhook", "create", "--org", "acme", "--url", url]
    output = world.ok(*args, *(["--events", ",".join(events)] if events else []))
    lines = output.strip().splitlines()
    assert lines[-1].startswith("WEBHOOK_SECRET=whsec_")
    endpoint_id = int(re.search(r"^WEBHOOK_ID=(\d+)$", output, re.M).group(1))
    return endpoint_id, lines[-1].removeprefix("WEBHOOK_SECRET=")


def deliver(app, receiver, until, settings=FAST, timeout: float = 30) -> None:
    """Run delivery rounds until `until(receiver)` holds."""
    sessions = app.extensions["rolecall.sessionmaker"]
    rng = random.Random(1)
    deadline = time.monotonic() + timeout
    while not until(receiver):
        if time.monotonic() > deadline:
            ids = [(r.event_id, r.status) for r in receiver.requests]
            raise AssertionError(f"delivery did not finish; received (id, status): {ids}")
        if not worker.deliver_some(sessions, "test-worker", settings, rng):
            time.sleep(0.02)


def _events(world, prefix: str = "") -> list[Event]:
    """The organization's events of a kind, as stored (with their ids)."""
    with world.app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        return [e for e in read_events(session, org.id, 0, 10_000) if e.type.startswith(prefix)]


def delivered_ids(receiver) -> list[int]:
    """The event ids accepted, in arrival order."""
    return [request.event_id for request in receiver.accepted()]


def test_webhooks_are_created_listed_and_deleted_from_the_cli(world):
    """`webhook create` prints the id, then the secret on the last line; bad input exits 2."""
    endpoint_id, secret = create_webhook(world, "https://hooks.example/rolecall", "access.*")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    listed = world.ok("webhook", "list", "--org", "acme")
    assert f"{endpoint_id}\thttps://hooks.example/rolecall\taccess.*\tok\t" in listed
    assert secret not in listed
    for bad in (
        ["--url", "ftp://hooks.example/"],
        ["--url", "https://user:pw@hooks.example/"],
        ["--url", "https://hooks.example/", "--events", "access.**"],
        ["--url", "https://hooks.example/", "--events", "acess.*"],  # misspelt: matches nothing
        ["--url", "https://hooks.example/", "--events", "dsync.user.created,access.granted_"],
    ):
        result = world.run("webhook", "create", "--org", "acme", *bad)
        assert result.exit_code == 2, result.output
    args = ["--url", "https://hooks.example/", "--events", "acess.*"]
    misspelt = world.run("webhook", "create", "--org", "acme", *args).output
    assert "'acess.*' matches no event type; the types are access.*, admin.login.*" in misspelt
    assert world.ok("webhook", "delete", "--org", "acme", str(endpoint_id))
    assert world.run("webhook", "delete", "--org", "acme", str(endpoint_id)).exit_code == 2
    assert "hooks.example" not in world.ok("webhook", "list", "--org", "acme")


def test_events_arrive_signed_in_order_as_the_api_serves_them(world, app, client):
    """Each event once, in order, signed (Standard Webhooks), with /api/v1/events' body."""
    world.user("before")  # written before the endpoint: not sent
    with receiving() as receiver:
        _, secret = create_webhook(world, receiver.url)
        alice = world.user("alice")
        world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
        world.set_active(alice, False)
        expected = [e.id for e in _events(world) if e.id > _endpoint(world).cursor]
        deliver(app, receiver, lambda r: len(r.accepted()) >= len(expected))
        assert delivered_ids(receiver) == expected
        key = world.ok("apikey", "create", "--org", "acme").strip().splitlines()[-1]
        served = client.get(
            "/api/v1/events?limit=1000", headers={"Authorization": f"Bearer {key}"}
        ).get_json()["data"]
        by_id = {event["id"]: event for event in served}
        for request in receiver.accepted():
            assert verify(secret, request) == by_id[request.event_id]
            assert request.headers["content-type"] == "application/json"
            assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        tampered = receiver.accepted()[0]
        tampered.body = tampered.body.replace(b'"id"', b'"Id"')
        with pytest.raises(Exception, match="signature"):
            verify(secret, tampered)


def _endpoint(world) -> WebhookEndpoint:
    """The organization's one webhook endpoint, as stored now."""
    with world.app.app_context():
        return get_session().scalars(select(WebhookEndpoint)).one()


def test_a_filter_lets_only_its_event_types_through(world, app):
    """`--events access.*` receives access changes only; the others move its cursor on."""
    with receiving() as receiver:
        create_webhook(world, receiver.url, "access.*")
        world.user("alice")
        world.ok("grant", "--org", "acme", "--user", "alice", "--role", "editor", "project:web")
        access = [e.id for e in _events(world, "access.")]
        deliver(app, receiver, lambda r: set(access) <= set(delivered_ids(r)))
        types = {event.id: event.type for event in _events(world)}
        assert all(types[event_id].startswith("access.") for event_id in delivered_ids(receiver))
        with app.app_context():
            endpoint = get_session().scalars(select(WebhookEndpoint)).one()
            assert endpoint.cursor == max(e.id for e in _events(world))


def test_failures_are_retried_with_backoff_and_order_holds(world, app):
    """503s and a stall past the timeout: each event is retried until accepted, in order."""
    # The third request stalls past the 2 s timeout.
    with receiving(Behaviour(script=[503, 503, None, 503], stall_seconds=3)) as receiver:
        create_webhook(world, receiver.url, "dsync.user.created")
        for name in ("alice", "bob", "carol"):
            world.user(name)
        expected = [e.id for e in _events(world, "dsync.user.created")]
        deliver(app, receiver, lambda r: len(r.accepted()) >= 3, timeout=60)
        assert delivered_ids(receiver) == expected
        attempts = [request.event_id for request in receiver.requests]
        assert attempts[:4] == [expected[0]] * 4  # held back until the first is accepted
        with app.app_context():
            endpoint = get_session().scalars(select(WebhookEndpoint)).one()
            assert (endpoint.delivered, endpoint.failed_attempts, endpoint.dead) == (3, 4, 0)
            assert endpoint.attempts == 0 and endpoint.last_error is None


def test_an_event_failing_past_the_window_is_dead_lettered_then_replayed(world, app):
    """Give up after the window: a dead letter, the next event goes; replay sends it again."""
    settings = worker.WorkerSettings(
        delivery=webhooks.DeliveryPolicy(
            retry_base=timedelta(milliseconds=10), give_up_after=timedelta(0)
        ),
        outbound=outbound.OutboundPolicy(timeout=2.0),
    )
    with receiving(Behaviour(script=[500])) as receiver:
        endpoint_id, _ = create_webhook(world, receiver.url, "dsync.user.created")
        world.user("alice")
        world.user("bob")
        alice_event, bob_event = (e.id for e in _events(world, "dsync.user.created"))
        deliver(app, receiver, lambda r: delivered_ids(r) == [bob_event], settings)
        with app.app_context():
            dead = get_session().scalars(select(DeadLetter)).one()
            assert (dead.event_id, dead.attempts, dead.last_error) == (alice_event, 1, "HTTP 500")
        listed = world.ok("webhook", "list", "--org", "acme")
        assert listed.splitlines()[1].split("\t")[6:8] == ["1", "1"]  # delivered, dead
        replayed = world.ok("webhook", "replay", "--org", "acme", str(endpoint_id), "--from",
                            str(alice_event))  # fmt: skip
        assert "(1 dead letters)" in replayed
        deliver(app, receiver, lambda r: len(r.accepted()) == 3, settings)
        assert delivered_ids(receiver) == [bob_event, alice_event, bob_event]  # bob: again


def test_a_lease_is_exclusive_and_a_lost_one_records_nothing(world, app):
    """Two workers cannot hold one endpoint; a worker whose lease was taken records nothing."""
    create_webhook(world, "http://127.0.0.1:9/hook")
    world.user("alice")
    policy = webhooks.DeliveryPolicy(lease=timedelta(seconds=30))
    with app.app_context():
        session = get_session()
        first = webhooks.claim(session, "worker-a", policy)
        session.commit()
        assert first is not None
        assert webhooks.claim(session, "worker-b", policy) is None
        session.commit()
        later = webhooks.claim(session, "worker-b", policy, now=first.lease_until + timedelta(1))
        session.commit()
        assert later is not None and later.lease_owner == "worker-b"
        event, _ = webhooks.next_event(session, first)
        assert not webhooks.record_success(session, first, "worker-a", event, policy)
        session.commit()
        session.refresh(later)
        assert later.cursor < event.id and later.delivered == 0


def test_a_second_worker_on_one_sqlite_database_says_so(app, database_url):
    """On SQLite one worker delivers; a second one exits with the reason."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL runs any number of workers")
    sessions = app.extensions["rolecall.sessionmaker"]
    with (
        worker._single_copy_on_sqlite(sessions),
        pytest.raises(worker.AnotherWorkerRuns, match="one worker runs"),
        worker._single_copy_on_sqlite(sessions),
    ):
        pass
    with worker._single_copy_on_sqlite(sessions):  # the first one stopped: free again
        pass


# Outbound requests: limits and refusals


def test_link_local_and_metadata_addresses_are_refused_unless_allowed():
    """169.254.169.254 (cloud metadata) is refused before connecting; allowed, it is tried."""
    policy = outbound.OutboundPolicy(timeout=1.0)
    refused_urls = (
        "http://169.254.169.254/latest",
        "http://[fe80::1]/",
        "http://0.0.0.0:9/",
        "http://168.63.129.16/",  # Azure's WireServer
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of it
        "http://[::a9fe:a9fe]/",  # IPv4-compatible
        "http://[::ffff:0.0.0.0]:9/",  # this host, as 0.0.0.0, IPv4-mapped
        "http://255.255.255.255/",  # the limited broadcast
        "http://240.0.0.1/",  # reserved
    )
    for url in refused_urls:
        outcome = outbound.post(url, b"{}", {}, policy)
        assert not outcome.ok and "refused addresses" in outcome.error, (url, outcome)
    allowed = outbound.OutboundPolicy(timeout=0.5, allow_link_local=True)
    outcome = outbound.post("http://169.254.169.254/latest", b"{}", {}, allowed)
    assert not outcome.ok and "refused addresses" not in outcome.error
    assert not outbound.post("file:///etc/passwd", b"", {}, policy).ok


def test_an_error_records_no_byte_the_remote_sent():
    """A webhook aimed at a non-HTTP service (an SSH banner here) records the error's class.

    The message of http.client's BadStatusLine quotes the first line the remote sent: stored
    as the endpoint's last error, readable with a viewer key, it turned webhooks into a
    banner grabber for the operator's network.
    """
    banner = b"SSH-2.0-OpenSSH_9.6 secret-host-name\r\n"
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        connection, _ = server.accept()
        with connection:
            connection.sendall(banner)
            connection.recv(65536)

    serving = threading.Thread(target=serve, daemon=True)
    serving.start()
    try:
        outcome = outbound.post(
            f"http://127.0.0.1:{port}/", b"{}", {}, outbound.OutboundPolicy(timeout=5)
        )
    finally:
        serving.join(timeout=5)
        server.close()
    assert not outcome.ok and outcome.status is None
    assert outcome.error == "BadStatusLine", outcome
    closed = outbound.post(f"http://127.0.0.1:{port}/", b"{}", {}, outbound.OutboundPolicy(1))
    assert closed.error == "ConnectionRefusedError"


def test_only_allowed_networks_are_reached_when_listed():
    """With allowed networks, any other address is refused before connecting."""
    elsewhere = outbound.OutboundPolicy(
        timeout=2, allowed_networks=(ipaddress.ip_network("10.0.0.0/8"),)
    )
    here = outbound.OutboundPolicy(
        timeout=2, allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)
    )
    with receiving() as receiver:
        refused = outbound.post(receiver.url, b"{}", {}, elsewhere)
        assert not refused.ok and "not allowed" in refused.error
        assert receiver.requests == []
        assert outbound.post(receiver.url, b"{}", {}, here).ok
        assert len(receiver.requests) == 1


def test_the_worker_refuses_a_network_that_is_not_one(app):
    """--allowed-networks takes CIDRs; anything else is a usage error (exit 2)."""
    from app.cli import cli

    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["worker", "--allowed-networks", "10.0.0.0/8,x"])
    assert result.exit_code == 2 and "'x' does not appear to be an IPv4 or IPv6" in result.output
    # Good networks pass; the worker then stops at the lease, which is checked after them.
    result = runner.invoke(
        cli, ["worker", "--allowed-networks", "10.0.0.0/8, fd00::/8", "--lease", "1"]
    )
    assert result.exit_code == 2 and "--lease" in result.output


def test_redirects_are_not_followed_and_answers_are_read_within_limits():
    """A 302 is a failure; a huge answer is cut at the limit; a stall ends at the deadline."""

    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", "http://169.254.169.254/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with receiving(Behaviour(extra=redirect)) as receiver:
        outcome = outbound.post(receiver.url, b"{}", {}, outbound.OutboundPolicy(timeout=2))
        assert (outcome.ok, outcome.status) == (False, 302) and "not followed" in outcome.error
        assert len(receiver.requests) == 1

    def endless(handler):
        handler.send_response(200)
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"x" * 65536)

    with receiving(Behaviour(extra=endless)) as receiver:
        started = time.monotonic()
        outcome = outbound.post(receiver.url, b"{}", {}, outbound.OutboundPolicy(timeout=5))
        assert outcome.ok and time.monotonic() - started < 5

    with receiving(Behaviour(stall_rate=1.0, stall_seconds=3)) as receiver:
        started = time.monotonic()
        outcome = outbound.post(receiver.url, b"{}", {}, outbound.OutboundPolicy(timeout=0.5))
        assert not outcome.ok and "timed out" in outcome.error
        assert time.monotonic() - started < 2


@pytest.mark.parametrize("trickled", ["headers", "body"])
def test_an_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(trickled):
    """The deadline bounds the whole request, not each wait for the next byte.

    A receiver trickling its answer kept a delivery (its endpoint's lease, a worker thread)
    for as long as it liked: each byte came within the socket's timeout.
    """
    stop = threading.Event()

    def trickle(handler):
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n"
        if trickled == "body":
            handler.wfile.write(head + b"\r\n")
        for byte in head + b"X-Trickle: " + b"y" * 200 if trickled == "headers" else b"x" * 1000:
            if stop.wait(0.1):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    with receiving(Behaviour(extra=trickle)) as receiver:
        started = time.monotonic()
        outcome = outbound.post(receiver.url, b"{}", {}, outbound.OutboundPolicy(timeout=1))
        took = time.monotonic() - started
        stop.set()
    assert not outcome.ok and outcome.error.startswith("timed out"), outcome
    assert took < 5  # the trickle would last 25 s (headers) or 100 s (body)


def test_pausing_an_endpoint_stops_a_worker_in_the_middle_of_its_backlog(world, app):
    """Paused while a worker sends its backlog: at most one more event goes, the rest wait."""
    with receiving() as receiver:
        endpoint_id, _ = create_webhook(world, receiver.url, "dsync.user.created")
        for name in ("alice", "bob", "carol", "dave"):
            world.user(name)

        def pause_on_first(handler):
            if len(receiver.requests) == 1:
                with app.app_context():
                    endpoint = get_session().get(WebhookEndpoint, endpoint_id)
                    endpoint.enabled = False
                    get_session().commit()
            handler.send_response(204)
            handler.end_headers()

        receiver.behaviour.extra = pause_on_first
        sessions = app.extensions["rolecall.sessionmaker"]
        worker.deliver_some(sessions, "test-worker", FAST, random.Random(1))
        assert 1 <= len(receiver.accepted()) <= 2
        assert worker.deliver_some(sessions, "test-worker", FAST, random.Random(1)) == 0
        assert _endpoint(world).lease_owner is None


def test_a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends(world, app):
    """Two `v1,` signatures in the overlap, each verifying alone; after it, the new one only."""
    with receiving() as receiver:
        endpoint, old = create_webhook(world, receiver.url)
        rotated = world.ok(
            "webhook", "rotate-secret", "--org", "acme", "--overlap-hours", "2", str(endpoint)
        )
        new = rotated.strip().splitlines()[-1].removeprefix("WEBHOOK_SECRET=")
        assert new.startswith("whsec_") and new != old
        world.user("alice")
        # The rotation's own event, then alice's two.
        deliver(app, receiver, lambda r: len(r.accepted()) >= 3)
        during = receiver.accepted()[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert verify(old, during)["id"] == verify(new, during)["id"] == during.event_id
        with app.app_context():
            session = get_session()
            row = session.get(WebhookEndpoint, endpoint)
            row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
            session.commit()
        world.user("bob")
        deliver(app, receiver, lambda r: len(r.accepted()) >= 5)
        after = receiver.accepted()[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert verify(new, after)["id"] == after.event_id
        with pytest.raises(WebhookVerificationError):
            verify(old, after)
    (_, rotation), *_ = world.events("webhook.secret_rotated")
    assert rotation["overlap_hours"] == 2 and old not in str(rotation) and new not in str(rotation)
