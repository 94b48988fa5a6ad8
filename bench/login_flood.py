"""Benchmark: SCIM's latency while a flood of sign-in attempts hits /admin/login.

Each attempt comes from a new 127.x.y.z address with a new email, so that neither the
per-address nor the per-email limit stops it: what is measured is the bound on password
hashing per host (`rbac.hash_slots`). Against gunicorn with 2 workers, on SQLite (or the
database of DATABASE_URL):

1. SCIM `GET /Users?count=10` one at a time for SECONDS: the unloaded median;
2. the same while CLIENTS processes send sign-in attempts as fast as they are answered;
3. the same flood with the bound lifted (`ROLECALL_LOGIN_HASH_SLOTS=64`), for comparison.

The target (issue 23): under the flood, SCIM's median stays within 3x its unloaded value.

    .venv/bin/python bench/login_flood.py
    scripts/with-postgres .venv/bin/python bench/login_flood.py
"""

import argparse
import http.client
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.migrate import upgrade_database  # noqa: E402
from rbac import tenancy  # noqa: E402
from rbac.models import Provider  # noqa: E402
from tests import servers  # noqa: E402
from web.db import get_catalog, get_session  # noqa: E402

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def main() -> int:
    """Measure SCIM's median unloaded, under a flood, and under a flood without the bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6, help="flooding processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="each measurement's length")
    parser.add_argument("--users", type=int, default=50, help="users the directory holds")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='rolecall-flood-')}/bench.sqlite3"
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade_database()
        token = tenancy.bootstrap_directory(
            get_session(), get_catalog(), "flood", "okta", Provider.OKTA
        )
        get_session().commit()
    dialect = url.split(":", 1)[0].split("+")[0]
    print(f"database: {dialect}; gunicorn 2 workers; {args.clients} flooding clients")
    rows = []
    for label, slots in (("bounded (default)", None), ("unbounded (64 slots)", "64")):
        env = {"ROLECALL_LOG_LEVEL": "WARNING", "ROLECALL_SCIM_RATE_LIMIT": "0"}
        env["ROLECALL_LOGIN_HASH_SLOTS_DIR"] = tempfile.mkdtemp(prefix="rolecall-slots-")
        if slots:
            env["ROLECALL_LOGIN_HASH_SLOTS"] = slots
        with servers.gunicorn(url, workers=2, env=env) as (base, _):
            scim = _Scim(base, token)
            if not rows:
                for _ in range(args.users):
                    scim.create_user()
                unloaded = scim.median(args.seconds)
                rows.append(("unloaded", unloaded, None, {}))
            flooded, attempts, statuses = _under_flood(base, scim, args)
            rows.append((f"flood, {label}", flooded, attempts, statuses))
    base_median = rows[0][1]
    print(f"{'':28} {'SCIM median':>12} {'x unloaded':>10} {'attempts/s':>10}  answers")
    for label, median, rate, statuses in rows:
        shown_rate = f"{rate:10.1f}" if rate is not None else f"{'':10}"
        answers = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
        ratio = median / base_median
        print(f"{label:28} {median * 1000:9.1f} ms {ratio:10.2f} {shown_rate}  {answers}")
    within = rows[1][1] <= 3 * base_median
    print(f"target (bounded flood within 3x unloaded): {'met' if within else 'MISSED'}")
    return 0


class _Scim:
    """A SCIM client of the bench directory, timing one GET at a time."""

    def __init__(self, base: str, token: str):
        self.base = f"{base}/scim/v2"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def create_user(self) -> None:
        name = f"user-{uuid.uuid4().hex[:12]}@example.com"
        body = {"schemas": [USER_SCHEMA], "userName": name, "active": True}
        self.http.post(f"{self.base}/Users", json=body, timeout=30).raise_for_status()

    def median(self, seconds: float) -> float:
        """The median wall time of GET /Users?count=10, asked one at a time for `seconds`."""
        timings, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            self.http.get(f"{self.base}/Users", params={"count": 10}, timeout=30).raise_for_status()
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)


def _under_flood(base: str, scim: _Scim, args) -> tuple[float, float, dict[int, int]]:
    """SCIM's median while CLIENTS processes flood the login; their attempt rate and answers."""
    stop = multiprocessing.Event()
    results = multiprocessing.Queue()
    flooders = [
        multiprocessing.Process(target=_flood, args=(base, n, stop, results))
        for n in range(args.clients)
    ]
    for flooder in flooders:
        flooder.start()
    time.sleep(1.0)  # the flood under way
    started = time.monotonic()
    median = scim.median(args.seconds)
    elapsed = time.monotonic() - started
    stop.set()
    statuses: dict[int, int] = {}
    for _ in flooders:
        for status, n in results.get(timeout=60).items():
            statuses[status] = statuses.get(status, 0) + n
    for flooder in flooders:
        flooder.join(timeout=30)
    return median, sum(statuses.values()) / (elapsed + 1.0), statuses


def _flood(base: str, number: int, stop, results) -> None:
    """Send sign-in attempts, each from a new 127.x.y.z address with a new email, until told."""
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    cookie, token = _login_form(host, port)
    statuses: dict[int, int] = {}
    rng = random.Random(number)
    while not stop.is_set():
        source = f"127.{number + 1}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        body = urllib.parse.urlencode(
            {
                "email": f"{uuid.uuid4().hex[:16]}@example.com",
                "password": "x" * 16,
                "csrf_token": token,
            }
        )
        connection = http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))
        try:
            connection.request(
                "POST",
                "/admin/login",
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie,
                    "Referer": f"{base}/admin/login",
                },
            )
            status = connection.getresponse().status
        except OSError:
            status = 0
        finally:
            connection.close()
        statuses[status] = statuses.get(status, 0) + 1
    results.put(statuses)


def _login_form(host: str, port: int) -> tuple[str, str]:
    """The session cookie and CSRF token of the login form (one per flooding client)."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/admin/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = "; ".join(
        value.split(";", 1)[0] for name, value in response.getheaders() if name == "Set-Cookie"
    )
    connection.close()
    return cookie, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


if __name__ == "__main__":
    sys.exit(main())
