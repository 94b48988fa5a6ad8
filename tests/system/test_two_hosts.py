"""Production's shape: two app hosts on one PostgreSQL, IdP traffic split across both, two workers.

Two gunicorn servers (2 workers each) on different loopback ports share one database. The
IdP's traffic is split across them: every userName is created through both at once, and
membership PATCHes to the same groups arrive through both at once; one group also gets an
access role. Two `rolecall worker` processes deliver the events to a receiver. Then: exactly
one 201 per userName, every membership applied (none lost), `rolecall verify` clean, every
event delivered, and each host's /metrics counts its own workers' requests.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from rbac.models import Event
from tests import servers
from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA
from tests.webhook_receiver import receiving, verify
from tests.webhooks.test_webhook_workers import start_worker
from tests.webhooks.test_webhooks import create_webhook
from web.db import get_session

pytestmark = pytest.mark.slow

USERS, GROUPS = 60, 6
METRICS_TOKEN = "two-hosts-metrics"


def test_two_hosts_and_two_workers_on_one_postgresql(world, app, database_url, tmp_path):
    """Nothing lost, nothing doubled, verify clean, every event delivered."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several hosts share PostgreSQL; SQLite is one host's database")
    env = {"ROLECALL_METRICS_TOKEN": METRICS_TOKEN}
    metrics_a, metrics_b = tmp_path / "metrics-a", tmp_path / "metrics-b"
    metrics_a.mkdir()
    metrics_b.mkdir()
    with (
        receiving() as receiver,
        servers.gunicorn(
            database_url, workers=2, threads=2,
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_a)},
        ) as (host_a, _),
        servers.gunicorn(
            database_url, workers=2, threads=2,
            env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_b)},
        ) as (host_b, _),
    ):  # fmt: skip
        _, secret = create_webhook(world, receiver.url)
        start = _last_event_id(app)
        workers = [start_worker(database_url), start_worker(database_url)]
        try:
            headers = {
                "Authorization": f"Bearer {world.directory.token}",
                "Content-Type": "application/scim+json",
            }
            hosts = [host_a, host_b]

            def send(method, host, path, body=None):
                with requests.Session() as http:
                    return http.request(
                        method, f"{host}/scim/v2{path}", json=body, headers=headers, timeout=60
                    )

            groups = [
                send("POST", hosts[i % 2], "/Groups",
                     {"schemas": [GROUP_SCHEMA], "displayName": f"Team {i}"}).json()["id"]
                for i in range(GROUPS)
            ]  # fmt: skip
            world.ok("assign", "--org", "acme", "--group", "Team 0", "--role", "editor",
                     "project:web")  # fmt: skip

            # Every userName created through both hosts at once: one 201, one 409.
            def create_twice(number):
                body = {"schemas": [USER_SCHEMA], "userName": f"user{number}@example.com"}
                with ThreadPoolExecutor(max_workers=2) as both:
                    sent = [both.submit(send, "POST", host, "/Users", body) for host in hosts]
                    return [answer.result() for answer in sent]

            with ThreadPoolExecutor(max_workers=8) as pool:
                pairs = list(pool.map(create_twice, range(USERS)))
            statuses = [sorted(r.status_code for r in pair) for pair in pairs]
            assert statuses == [[201, 409]] * USERS, statuses
            users = [next(r.json()["id"] for r in pair if r.status_code == 201) for pair in pairs]

            # Membership PATCHes to the same groups, through both hosts at once.
            expected = {group: set() for group in groups}
            patches = []
            for index, user in enumerate(users):
                group = groups[index % GROUPS]
                expected[group].add(user)
                patches.append((hosts[index % 2], group, user))

            def add_member(job):
                host, group, user = job
                operation = {"op": "add", "path": "members", "value": [{"value": user}]}
                body = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
                return send("PATCH", host, f"/Groups/{group}", body).status_code

            with ThreadPoolExecutor(max_workers=8) as pool:
                assert set(pool.map(add_member, patches)) <= {200, 204}
            for group, members in expected.items():
                shown = send("GET", host_a, f"/Groups/{group}").json().get("members", [])
                assert {m["value"] for m in shown} == members, group

            world.verify_clean()
            assert world.check("user0@example.com", "project.edit_assets", "project:web")
            events = _event_ids_after(app, start)
            receiver.wait_for(
                lambda r: set(events) <= {q.event_id for q in r.accepted()}, timeout=180
            )
            for request in receiver.accepted():
                assert verify(secret, request)["id"] == request.event_id
            # No failure, no kill: each event exactly once (no two workers sent one at once).
            assert sorted(r.event_id for r in receiver.accepted()) == sorted(events)
            counted = 0
            for host in hosts:
                metrics = requests.get(
                    f"{host}/metrics",
                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                    timeout=30,
                ).text
                counted += _sum_requests(metrics)
            assert counted >= GROUPS + 2 * USERS + USERS
            print(f"\ntwo hosts: {len(events)} events delivered once each, "
                  f"{counted} requests counted by the two hosts' /metrics")  # fmt: skip
        finally:
            for worker in workers:
                worker.stop()


def _sum_requests(metrics: str) -> int:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("rolecall_http_requests_total{") and "/scim/v2" in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _last_event_id(app) -> int:
    with app.app_context():
        return get_session().scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def _event_ids_after(app, start: int) -> list[int]:
    with app.app_context():
        return list(get_session().scalars(select(Event.id).where(Event.id > start)))
