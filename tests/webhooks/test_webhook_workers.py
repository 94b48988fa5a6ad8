"""`rolecall worker` processes delivering to a real receiver that fails and stalls at random.

Events are written steadily (SCIM creates, grants) while workers deliver them to two
endpoints; one worker is killed (SIGKILL) mid-run. Then every event has arrived at least
once at each endpoint that wants it, no event arrived before those ahead of it, duplicates
carry the same `webhook-id`, and every signature verifies. On PostgreSQL two workers run
at once; on SQLite one runs (a second says so and exits) and a new one follows the killed
one. The figures (deliveries, duplicates, lag) are printed: `pytest -s` shows them.
"""

import os
import signal
import statistics
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from rbac.models import Event
from tests import servers
from tests.webhook_receiver import Behaviour, receiving, verify
from tests.webhooks.test_webhooks import create_webhook
from web.db import get_session

pytestmark = pytest.mark.slow

ROLECALL = str(Path(sys.executable).with_name("rolecall"))
# Short limits, so that retries, stalls and a dead worker's lease all happen within seconds.
WORKER_ARGS = ["--threads", "2", "--poll", "0.1", "--timeout", "1", "--lease", "3"]
WORKER_ARGS += ["--retry-base", "0.05", "--retry-max", "0.5"]
USERS = 40


def start_worker(database_url: str) -> servers.Process:
    """A `rolecall worker` process, once it says it is delivering."""
    worker = servers.Process(
        [ROLECALL, "worker", *WORKER_ARGS],
        env={"DATABASE_URL": database_url},
    )
    worker.wait_for_line("worker delivering", timeout=60)
    return worker


def kill(worker: servers.Process) -> None:
    """SIGKILL: no chance to finish a delivery or give a lease back."""
    os.killpg(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait(timeout=30)


def test_workers_deliver_every_event_in_order_despite_failures_and_a_kill(world, app, database_url):
    """At least once, in order, signed; one worker SIGKILLed mid-run loses nothing."""
    postgres = database_url.startswith("postgresql")
    behaviour = Behaviour(fail_rate=0.15, stall_rate=0.03, stall_seconds=1.5)
    with receiving(behaviour) as receiver:
        everything = receiver.url + "/all"
        _, secret_all = create_webhook(world, everything)
        access_only = receiver.url + "/access"
        _, secret_access = create_webhook(world, access_only, "access.*")
        secrets = {"/hook/all": secret_all, "/hook/access": secret_access}
        start = _last_event_id(app)
        workers = [start_worker(database_url)]
        try:
            if postgres:
                workers.append(start_worker(database_url))
            else:
                second = servers.Process([ROLECALL, "worker"], env={"DATABASE_URL": database_url})
                second.popen.wait(timeout=60)
                second.stop()
                assert second.popen.returncode == 1
                assert any("one worker runs" in line for line in second.lines), second.lines
            for number in range(USERS):
                world.user(f"user{number}")
                if number % 4 == 0:
                    world.ok("grant", "--org", "acme", "--user", f"user{number}", "--role",
                             "editor", "project:web")  # fmt: skip
                if number == USERS // 2:
                    kill(workers[0])
                    if not postgres:  # the lock file is free again: a new worker follows
                        workers.append(start_worker(database_url))
                time.sleep(0.05)
            events = _events_after(app, start)
            wanted = {
                "/hook/all": [e.id for e in events],
                "/hook/access": [e.id for e in events if e.type.startswith("access.")],
            }
            receiver.wait_for(lambda r: _all_arrived(r, wanted), timeout=180)
        finally:
            for worker in workers:
                worker.stop()

    created = {event.id: event.created_at.timestamp() for event in events}
    figures = {}
    for path, ids in wanted.items():
        accepted = [r for r in receiver.accepted() if r.path == path]
        seen: set[int] = set()
        for request in accepted:  # nothing arrives before every event ahead of it
            ahead = [i for i in ids if i < request.event_id]
            assert set(ahead) <= seen, (path, request.event_id, sorted(set(ahead) - seen)[:5])
            seen.add(request.event_id)
            assert verify(secrets[path], request)["id"] == request.event_id
        first = {}
        for request in accepted:
            first.setdefault(request.event_id, request.arrived)
        lags = sorted(first[i] - created[i] for i in ids)
        figures[path] = {
            "events": len(ids),
            "accepted requests": len(accepted),
            "duplicates": len(accepted) - len(ids),
            "lag p50 s": round(statistics.median(lags), 3),
            "lag p95 s": round(lags[int(0.95 * (len(lags) - 1))], 3),
        }
    attempts = len(receiver.requests)
    print(f"\nwebhook workers ({'2 on PostgreSQL' if postgres else 'SQLite'}, one killed): "
          f"{attempts} requests, {figures}")  # fmt: skip
    assert receiver.requests and any(r.status >= 500 for r in receiver.requests)


def _all_arrived(receiver, wanted: dict[str, list[int]]) -> bool:
    accepted: dict[str, set[int]] = {}
    for request in receiver.accepted():
        accepted.setdefault(request.path, set()).add(request.event_id)
    return all(set(ids) <= accepted.get(path, set()) for path, ids in wanted.items())


def _last_event_id(app) -> int:
    with app.app_context():
        return get_session().scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def _events_after(app, start: int) -> list[Event]:
    with app.app_context():
        query = select(Event).where(Event.id > start).order_by(Event.id)
        return list(get_session().scalars(query))
