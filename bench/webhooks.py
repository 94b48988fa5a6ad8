"""Benchmark: webhook delivery lag under a steady event rate, with `rolecall worker` processes.

An organization with one webhook endpoint (a healthy receiver on loopback) gets users
created at RATE per second for DURATION seconds (each creation writes two events: the
directory event and the default role's access event), by SCIM through a live gunicorn
(2 workers). WORKERS `rolecall worker` processes deliver. Lag is the time from an event's
commit (its `created_at`) to its first arrival at the receiver; the benchmark prints
p50/p95/max, the events per second delivered, and duplicates.

    .venv/bin/python bench/webhooks.py                          # SQLite (one worker)
    scripts/with-postgres .venv/bin/python bench/webhooks.py    # PostgreSQL (two workers)
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.migrate import upgrade_database  # noqa: E402
from rbac import tenancy  # noqa: E402
from rbac.catalog import load_catalog  # noqa: E402
from rbac.context import Context  # noqa: E402
from rbac.models import Event, Provider  # noqa: E402
from rbac.webhooks import create_endpoint  # noqa: E402
from tests import servers  # noqa: E402
from tests.webhook_receiver import receiving  # noqa: E402
from web.db import get_session  # noqa: E402

ROLECALL = str(Path(sys.executable).with_name("rolecall"))


def main() -> None:
    """Run the measurement and print one line of figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="users created per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of writing")
    args = parser.parse_args()
    url = os.environ.get("ROLECALL_TEST_DATABASE_URL")
    postgres = bool(url)
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        if postgres:
            from sqlalchemy import text

            from web.db import get_engine

            with get_engine().begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade_database()
        session = get_session()
        org = tenancy.create_organization(session, "bench")
        operator = Context(session, load_catalog(), org)
        directory = tenancy.create_directory(operator, "okta", Provider.OKTA)
        _, token = tenancy.issue_token(operator, directory)
        session.commit()
    workers_wanted = 2 if postgres else 1
    with receiving() as receiver, servers.gunicorn(url, workers=2) as (base, _):
        with app.app_context():
            session = get_session()
            org = tenancy.get_organization(session, "bench")
            create_endpoint(Context(session, app.extensions["rolecall.catalog"], org), receiver.url)
            session.commit()
        workers = [
            servers.Process([ROLECALL, "worker", "--poll", "0.05"], env={"DATABASE_URL": url})
            for _ in range(workers_wanted)
        ]
        try:
            for worker in workers:
                worker.wait_for_line("worker delivering", timeout=60)
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token}"
            started = time.monotonic()
            made = 0
            while time.monotonic() - started < args.duration:
                due = started + made / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
                body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": f"user{made}@example.com"}  # fmt: skip
                answer = http.post(f"{base}/scim/v2/Users", json=body, timeout=30)
                assert answer.status_code == 201, answer.text
                made += 1
            with app.app_context():
                created = {
                    e.id: e.created_at.timestamp()
                    for e in get_session().scalars(select(Event).order_by(Event.id))
                }
            receiver.wait_for(
                lambda r: set(created) <= {q.event_id for q in r.accepted()}, timeout=300
            )
        finally:
            for worker in workers:
                worker.stop()
    first: dict[int, float] = {}
    for request in receiver.accepted():
        first.setdefault(request.event_id, request.arrived)
    lags = sorted((first[i] - created[i]) * 1000 for i in created)
    p50, p95 = statistics.median(lags), lags[int(0.95 * (len(lags) - 1))]
    span = max(first.values()) - min(first.values())
    print(
        f"{'PostgreSQL' if postgres else 'SQLite'}, {workers_wanted} worker(s): "
        f"{len(created)} events at {len(created) / args.duration:.0f}/s for {args.duration:.0f} s; "
        f"lag p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
        f"max {lags[-1]:.0f} ms; delivered {len(first) / span:.0f} events/s; "
        f"duplicates {len(receiver.accepted()) - len(first)}"
    )


if __name__ == "__main__":
    main()
