"""Benchmark: Rolecall's SCIM API beside the stack's floor and scim2-server, in one run.

Serves on loopback, one server at a time, each measured by the same client:

1. floor: a bare Flask app served by gunicorn (2 sync workers) answering GET /Users/<id> and
   GET /Groups/<id> with one SQLAlchemy primary-key read (`session.get`, the project's engine
   settings from rbac.db, on PostgreSQL without a transaction as Rolecall's reads) of
   Rolecall's own rows, in the same database;
2. peer: python-scim's scim2-server 0.8.3, its `scim2-server` command (one process, a threaded
   wsgiref server, resources in memory, a static bearer token), from its own virtualenv
   (--peer-venv): --install-peer makes it, a run without it reuses it, or skips the peer's
   column and says why;
3. Rolecall: wsgi:app with gunicorn (2 sync workers, request lines off as the floor logs
   nothing), on SQLite in a temp folder or on DATABASE_URL's database, a directory's bearer
   token (RBAC, events and the request journal on).

The peer and Rolecall get the same data over SCIM, as an IdP sends it: USERS users (POST /Users,
CLIENTS processes), GROUPS groups created empty, then MEMBERS members each (a random sample of
the users, seed 12) added by PATCH in batches of 100. Before the members arrive, every other
Rolecall group gets a role on a project of its own (rbac.admin, in process, as the operator), so
that half of the memberships are RBAC recomputations.

Then CLIENTS client processes (not threads: the client must not be held back by the GIL), each
with one requests.Session, send for DURATION seconds after WARMUP seconds:

- GET /Users/{id}, rotating over every user (floor: its primary-key read of the user);
- GET /Groups/{id}?excludedAttributes=members (floor: its primary-key read of the group);
- POST /Users, with a userName unique per client and request;
- PATCH /Users/{id} replacing `active`, each client flipping its own users (false, then true)
  so that every request changes the user;

then, counted rather than timed:

- DELETE /Groups/{id} of GROUP_DELETES groups of MEMBERS members, one after the other (every
  other one holds a role in Rolecall): the median milliseconds of a request;
- DELETE /Users/{id} of USER_DELETES users per client, each client its own (users loaded above,
  members of groups): requests / wall time.

The groups are deleted before the users, so that they still hold MEMBERS members. Any other
status than the expected one aborts the run with the response, and the server's last output.
Server CPU per request is the user + system time of every process in the server's session
(gunicorn's master and workers, or the peer's process), read from /proc before and after, over
every request sent, warm-up included; on PostgreSQL the database's own processes are not in it.
The table gives Rolecall's ratios to the floor and to the peer as throughput (for the rows in
milliseconds: the other's cost over Rolecall's), so that above 1 is Rolecall ahead, and checks
the targets of issue 12: both GETs >= 0.5 of the floor, every write >= the peer.

    .venv/bin/python bench/scim_side_by_side.py --quick --install-peer   # makes .bench/...-venv
    .venv/bin/python bench/scim_side_by_side.py                          # SQLite, full size
    scripts/with-postgres .venv/bin/python bench/scim_side_by_side.py    # throwaway PostgreSQL
"""

import argparse
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.migrate import upgrade_database  # noqa: E402
from rbac import tenancy  # noqa: E402
from rbac.admin import grants, resources  # noqa: E402
from rbac.context import Context  # noqa: E402
from rbac.models import Group, Organization, Provider  # noqa: E402
from tests import servers  # noqa: E402
from web.db import get_catalog, get_engine, get_session  # noqa: E402

PEER_VERSION = "0.8.3"
PEER_VENV = ROOT / ".bench" / "scim2-server-venv"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEMBER_BATCH = 100
# /proc counts CPU in clock ticks (10 ms): under 0.1 s in all, a CPU figure is only a hint.
COARSE_CPU_MS = 100
PROJECT_ROLES = ["admin", "editor", "member", "chat", "viewer"]

FULL = {
    "users": 2000,
    "groups": 20,
    "members": 500,
    "warmup": 2.0,
    "duration": 8.0,
    "user_deletes": 100,
    "group_deletes": 5,
}
QUICK = {
    "users": 300,
    "groups": 5,
    "members": 100,
    "warmup": 1.0,
    "duration": 4.0,
    "user_deletes": 30,
    "group_deletes": 5,
}

FLOOR_APP = """
import os
from flask import Flask, jsonify
from sqlalchemy.orm import sessionmaker
from rbac.db import make_engine
from rbac.models import Group, User

app = Flask(__name__)
engine = make_engine(os.environ["DATABASE_URL"])
if engine.dialect.name == "postgresql":
    # As Rolecall's read-only requests (web/db.py): no BEGIN and ROLLBACK around the read.
    engine = engine.execution_options(isolation_level="AUTOCOMMIT")
Session = sessionmaker(engine)


@app.get("/healthz")
def healthz():
    return jsonify({"ok": True})


@app.get("/Users/<user_id>")
def get_user(user_id):
    with Session() as session:
        user = session.get(User, user_id)
        return jsonify({"id": user.id, "userName": user.user_name})


@app.get("/Groups/<group_id>")
def get_group(group_id):
    with Session() as session:
        group = session.get(Group, group_id)
        return jsonify({"id": group.id, "displayName": group.display_name})
"""

# (key, label, unit): the rows of the table, in the order they are measured.
ROWS = [
    ("get_user", "GET /Users/{id}, req/s", "req/s"),
    ("get_group", "GET /Groups/{id}?excludedAttributes=members, req/s", "req/s"),
    ("post_user", "POST /Users, req/s", "req/s"),
    ("patch_user", "PATCH /Users/{id} active, req/s", "req/s"),
    ("delete_group", "DELETE /Groups/{id} ({members} members), median ms", "ms"),
    ("delete_user", "DELETE /Users/{id}, req/s", "req/s"),
]
# (row key, column Rolecall is compared with, least ratio): the targets of issue 12.
TARGETS = [
    ("get_user", "floor", 0.5),
    ("get_group", "floor", 0.5),
    ("post_user", "peer", 1.0),
    ("patch_user", "peer", 1.0),
    ("delete_user", "peer", 1.0),
    ("delete_group", "peer", 1.0),
]
COLUMNS = {"floor": "floor", "peer": f"scim2-server {PEER_VERSION}", "rolecall": "Rolecall"}


@dataclass(frozen=True)
class Job:
    """What one client process sends: `method` to each of `urls` in turn, with `body`'s bodies.

    body is "" (none), "create" (a new user, userName from `tag` and a counter), "flip" (a
    PatchOp inverting the user's `active`) or "given" (bodies[n], aligned with urls). With a
    duration, the client loops over urls until WARMUP + DURATION seconds have passed;
    without, it sends each url once.
    """

    method: str
    urls: tuple[str, ...]
    headers: dict
    ok: frozenset[int]
    body: str = ""
    bodies: tuple = ()
    warmup: float = 0.0
    duration: float | None = None
    tag: str = ""
    collect_ids: bool = False


@dataclass
class Measure:
    """One cell: req/s (or ms per request), server CPU ms per request, requests sent."""

    value: float
    cpu_ms: float
    requests: int
    ids: list | None = None
    each_ms: list | None = None

    @property
    def cpu_coarse(self) -> bool:
        """Whether the CPU figure rests on too few of the kernel's 10 ms ticks to compare."""
        return self.cpu_ms * self.requests < COARSE_CPU_MS


@dataclass
class Loaded:
    """What load_directory made: user ids in creation order, group ids, seconds taken."""

    user_ids: list[str]
    group_ids: list[str]
    seconds: float


def user_document(name: str) -> dict:
    """Return the SCIM user an IdP would POST for name (the same for the peer and Rolecall)."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": f"{name}@example.com",
        "externalId": name,
        "name": {"givenName": "Bench", "familyName": name},
        "displayName": f"Bench {name}",
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
        "active": True,
    }


def _body(job: Job, n: int, url: str, active: dict) -> dict | None:
    """Return the body of the n-th request of a job (None: no body)."""
    if job.body == "create":
        return user_document(f"{job.tag}-{n}")
    if job.body == "flip":
        active[url] = not active.get(url, True)
        operation = {"op": "replace", "path": "active", "value": active[url]}
        return {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
    if job.body == "given":
        return job.bodies[n % len(job.bodies)]
    return None


def _client(job: Job) -> dict:
    """One client process: send the job's requests; return latencies after warm-up and counts."""
    session = requests.Session()
    latencies, ids, active = [], [], {}
    sent = 0
    start = time.monotonic()
    measure_from = start + job.warmup
    stop_at = None if job.duration is None else measure_from + job.duration
    while True:
        now = time.monotonic()
        if (sent == len(job.urls)) if stop_at is None else (now >= stop_at):
            break
        url = job.urls[sent % len(job.urls)]
        body = _body(job, sent, url, active)
        t0 = time.perf_counter()
        response = session.request(job.method, url, json=body, headers=job.headers, timeout=60)
        elapsed = (time.perf_counter() - t0) * 1000
        sent += 1
        if response.status_code not in job.ok:
            raise AssertionError(
                f"{job.method} {url} {body}: {response.status_code} (expected "
                f"{sorted(job.ok)}) {response.text[:2000]}"
            )
        if now >= measure_from:
            latencies.append(elapsed)
        if job.collect_ids:
            ids.append(response.json()["id"])
    end = time.monotonic()
    session.close()
    return {"latencies": latencies, "sent": sent, "start": start, "end": end, "ids": ids}


def server_cpu_seconds(session_id: int) -> float:
    """Return the CPU time (user + system, reaped children too) of a session's processes."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:  # the process ended between listing and reading
            continue
        # Fields after "(comm)": state is field 3, session 6, utime..cstime 14..17 (proc(5)).
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[3]) == session_id:
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_clients(jobs: list[Job], server: servers.Process) -> Measure:
    """Run one client process per job, all at once; return req/s and server CPU per request."""
    jobs = [job for job in jobs if job.urls]
    cpu_before = server_cpu_seconds(server.popen.pid)
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        per_client = pool.map(_client, jobs)
    cpu = server_cpu_seconds(server.popen.pid) - cpu_before
    sent = sum(client["sent"] for client in per_client)
    if jobs[0].duration is None:
        # A fixed count per client: throughput over the wall time of the whole batch.
        elapsed = max(c["end"] for c in per_client) - min(c["start"] for c in per_client)
        rate = sent / elapsed
    else:
        rate = sum(len(client["latencies"]) for client in per_client) / jobs[0].duration
    ids = [i for client in per_client for i in client["ids"]]
    return Measure(rate, cpu * 1000 / sent, sent, ids=ids)


def _rotated(items: list, client: int, clients: int) -> tuple:
    """Return items starting at this client's share, so that clients do not move in step."""
    start = client * len(items) // clients
    return tuple(items[start:] + items[:start])


def load_directory(base: str, headers: dict, args, server, run: str, before_members=None) -> Loaded:
    """Load users, empty groups, then members by PATCHes of 100, over SCIM as an IdP does."""
    started = time.perf_counter()
    shares = [
        args.users // args.clients + (i < args.users % args.clients) for i in range(args.clients)
    ]
    create = [
        Job(
            "POST",
            (f"{base}/Users",) * share,
            headers,
            frozenset({201}),
            "create",
            tag=f"{run}-c{i}",
            collect_ids=True,
        )
        for i, share in enumerate(shares)
    ]
    user_ids = run_clients(create, server).ids
    group_ids = []
    for n in range(args.groups):
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": f"{run}-team-{n}",
            "externalId": f"{run}-{n}",
        }
        response = requests.post(f"{base}/Groups", json=body, headers=headers, timeout=60)
        if response.status_code != 201:
            raise AssertionError(f"POST /Groups {body}: {response.status_code} {response.text}")
        group_ids.append(response.json()["id"])
    if before_members is not None:
        before_members(group_ids)
    rng = random.Random(12)
    size = min(args.members, len(user_ids))
    patches = []
    for _ in group_ids:
        members = [user_ids[k] for k in rng.sample(range(len(user_ids)), size)]
        batches = [members[i : i + MEMBER_BATCH] for i in range(0, size, MEMBER_BATCH)]
        patches.append(
            [
                {
                    "schemas": [PATCH_SCHEMA],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": u} for u in batch]}
                    ],
                }
                for batch in batches
            ]
        )
    # A client sends one group's PATCHes in order; groups are spread over the clients.
    jobs = []
    for i in range(args.clients):
        mine = range(i, len(group_ids), args.clients)
        urls = tuple(f"{base}/Groups/{group_ids[g]}" for g in mine for _ in patches[g])
        bodies = tuple(body for g in mine for body in patches[g])
        jobs.append(Job("PATCH", urls, headers, frozenset({200, 204}), "given", bodies))
    run_clients(jobs, server)
    return Loaded(user_ids, group_ids, time.perf_counter() - started)


def measure_scim(base: str, headers: dict, loaded: Loaded, args, server, run: str) -> dict:
    """Measure every row against a loaded SCIM server; return {row key: Measure}."""
    clients, users, groups = args.clients, loaded.user_ids, loaded.group_ids
    per_client = min(args.user_deletes, len(users) // 2 // clients)
    doomed = users[len(users) - per_client * clients :]
    kept = users[: len(users) - len(doomed)]
    user_urls = [f"{base}/Users/{u}" for u in users]
    group_urls = [f"{base}/Groups/{g}?excludedAttributes=members" for g in groups]
    _check_members_excluded(group_urls[0], headers)
    timing = {"warmup": args.warmup, "duration": args.duration}

    def timed(method: str, urls_of, status: set[int], body: str = "", tag: str = "") -> Measure:
        """Run `clients` clients for the warm-up and duration; client i sends to urls_of(i)."""
        jobs = [
            Job(method, urls_of(i), headers, frozenset(status), body, tag=f"{tag}{i}", **timing)
            for i in range(clients)
        ]
        return run_clients(jobs, server)

    results = {
        "get_user": timed("GET", lambda i: _rotated(user_urls, i, clients), {200}),
        "get_group": timed("GET", lambda i: _rotated(group_urls, i, clients), {200}),
        "post_user": timed("POST", lambda i: (f"{base}/Users",), {201}, "create", f"{run}-new-c"),
        # Each client flips its own users; RFC 7644 §3.5.2 allows 200 (Rolecall) or 204 (peer).
        "patch_user": timed(
            "PATCH",
            lambda i: tuple(f"{base}/Users/{u}" for u in kept[i::clients]),
            {200, 204},
            "flip",
        ),
    }
    results["delete_group"] = delete_one_by_one(
        [f"{base}/Groups/{g}" for g in groups[: args.group_deletes]], headers, server
    )
    deletes = [
        Job(
            "DELETE",
            tuple(f"{base}/Users/{u}" for u in doomed[i::clients]),
            headers,
            frozenset({204}),
        )
        for i in range(clients)
    ]
    results["delete_user"] = run_clients(deletes, server)
    return results


def _check_members_excluded(url: str, headers: dict) -> None:
    """Fail unless the server honours excludedAttributes=members (else the GETs differ)."""
    response = requests.get(url, headers=headers, timeout=60)
    if response.status_code != 200 or "members" in response.json():
        raise AssertionError(f"GET {url}: {response.status_code} {response.text[:2000]}")


def delete_one_by_one(urls: list[str], headers: dict, server) -> Measure:
    """DELETE each url in turn; return the median ms per request and server CPU per request."""
    each = []
    cpu_before = server_cpu_seconds(server.popen.pid)
    for url in urls:
        t0 = time.perf_counter()
        response = requests.delete(url, headers=headers, timeout=120)
        each.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 204:
            raise AssertionError(f"DELETE {url}: {response.status_code} {response.text[:2000]}")
    cpu = server_cpu_seconds(server.popen.pid) - cpu_before
    return Measure(statistics.median(each), cpu * 1000 / len(urls), len(urls), each_ms=each)


def measure_floor(base: str, loaded: Loaded, args, server) -> dict:
    """Measure the floor app's primary-key reads of the same users and groups."""
    clients, timing = args.clients, {"warmup": args.warmup, "duration": args.duration}
    ok = frozenset({200})
    results = {}
    for key, kind, ids in (
        ("get_user", "Users", loaded.user_ids),
        ("get_group", "Groups", loaded.group_ids),
    ):
        urls = [f"{base}/{kind}/{i}" for i in ids]
        results[key] = run_clients(
            [Job("GET", _rotated(urls, i, clients), {}, ok, **timing) for i in range(clients)],
            server,
        )
    return results


@contextmanager
def floor_server(database_url: str, folder: Path):
    """Serve the floor app (written to folder) with gunicorn, 2 workers; yield (base, process)."""
    (folder / "bench_scim_floor.py").write_text(FLOOR_APP)
    port = servers.free_port()
    gunicorn_bin = str(Path(sys.executable).with_name("gunicorn"))
    args = [gunicorn_bin, "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    args += ["--pythonpath", str(folder), "--graceful-timeout", "5", "bench_scim_floor:app"]
    server = servers.Process(args, env={"DATABASE_URL": database_url})
    try:
        base = f"http://127.0.0.1:{port}"
        servers.wait_until_serving(f"{base}/healthz", process=server)
        yield base, server
    finally:
        server.stop()


@contextmanager
def peer_server(command: list[str], token: str):
    """Serve scim2-server on a free port, accepting one bearer token; yield (base, process)."""
    port = servers.free_port()
    server = servers.Process([*command, "--port", str(port), "--bearer-token", token])
    try:
        base = f"http://127.0.0.1:{port}/v2"
        headers = {"Authorization": f"Bearer {token}"}
        response = servers.wait_until_serving(
            f"{base}/ServiceProviderConfig", headers=headers, process=server
        )
        if response.status_code != 200:
            raise AssertionError(f"scim2-server: {response.status_code} {response.text}")
        yield base, server
    finally:
        server.stop()


def peer_command(venv: Path, install: bool) -> tuple[list[str] | None, str]:
    """Return the peer's command line, installing it if asked; or None and why it is skipped."""
    executable = venv / "bin" / "scim2-server"
    version = _installed_peer_version(venv) if executable.exists() else None
    if version == PEER_VERSION:
        return [str(executable)], ""
    if not install:
        found = f"holds scim2-server {version}" if version else "has no scim2-server"
        return None, (
            f"peer rows skipped: {venv} {found}, not {PEER_VERSION}; "
            f"--install-peer installs scim2-server=={PEER_VERSION} there"
        )
    if not (venv / "bin" / "python").exists():
        print(f"making {venv} for scim2-server {PEER_VERSION}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # As venv does from Python 3.13 on: the environment ignores itself in git.
        (venv / ".gitignore").write_text("*\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, "install", "--quiet", f"scim2-server=={PEER_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        raise SystemExit(
            f"pip could not install scim2-server:\n{installed.stdout}{installed.stderr}"
        )
    return [str(executable)], ""


def _installed_peer_version(venv: Path) -> str | None:
    """Return the version of scim2-server installed in venv, or None."""
    python = str(venv / "bin" / "python")
    script = "import importlib.metadata as m; print(m.version('scim2-server'))"
    found = subprocess.run([python, "-c", script], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        return None
    return found.stdout.strip()


@contextmanager
def operator_session(app):
    """Yield a session of app, as the operator; commit, then close the pool before any fork."""
    with app.app_context():
        session = get_session()
        yield session
        session.commit()
        get_engine().dispose()


def make_directory(app) -> tuple[int, str]:
    """Make an organization, its Okta directory and a SCIM token; return the org id and token."""
    with operator_session(app) as session:
        org = tenancy.create_organization(session, f"bench-{uuid.uuid4().hex[:8]}")
        operator = Context(session, get_catalog(), org)
        directory = tenancy.create_directory(operator, "okta", Provider.OKTA)
        _, token = tenancy.issue_token(operator, directory)
        return org.id, token


def give_roles(app, org_id: int, group_ids: list[str]) -> None:
    """Give each group a role on a project of its own, so its members' access is recomputed."""
    with operator_session(app) as session:
        ctx = Context(session, get_catalog(), session.get(Organization, org_id))
        for n, group_id in enumerate(group_ids):
            project = resources.create_project(ctx, f"project-{n}")
            role = PROJECT_ROLES[n % len(PROJECT_ROLES)]
            grants.give_role(ctx, session.get(Group, group_id), role, project)


def analyze(app) -> None:
    """Refresh planner statistics, as autovacuum (PostgreSQL) would after a load."""
    with operator_session(app) as session:
        session.execute(text("ANALYZE"))


@contextmanager
def showing_output(name: str, server: servers.Process):
    """On failure, print the server's last output lines (its traceback) before raising."""
    try:
        yield
    except BaseException:
        tail = "\n".join(server.lines[-60:])
        print(f"--- {name} failed; its last output lines:\n{tail}\n---", file=sys.stderr)
        raise


def ratio(results: dict, key: str, unit: str, other: str, cpu: bool = False) -> float | None:
    """Return Rolecall's ratio to another column as throughput (above 1: Rolecall ahead)."""
    mine = results.get("rolecall", {}).get(key)
    theirs = results.get(other, {}).get(key)
    if mine is None or theirs is None:
        return None
    if cpu:
        return theirs.cpu_ms / mine.cpu_ms if mine.cpu_ms and theirs.cpu_ms else None
    if unit == "ms":
        return theirs.value / mine.value
    return mine.value / theirs.value


def describe(url: str, args, load_average: float) -> str:
    """Return the header line: backend, servers, clients, durations, data sizes."""
    dialect = url.split(":", 1)[0].split("+")[0]
    excluded = " (not PostgreSQL's)" if dialect == "postgresql" else ""
    return (
        f"backend: {dialect}; floor and Rolecall: gunicorn, 2 sync workers; peer: scim2-server "
        f"{PEER_VERSION} (one process, threads, in memory); {args.clients} client processes, "
        f"{args.duration:g} s after {args.warmup:g} s warm-up; deletes counted: "
        f"{args.user_deletes} users per client, {args.group_deletes} groups one by one; data: "
        f"{args.users} users, {args.groups} groups x {args.members} members (every other "
        f"Rolecall group holds a project role), loaded over SCIM; server CPU: the server's "
        f"processes{excluded}; "
        f"load average (1 min) before the run {load_average:.2f}, after "
        f"{os.getloadavg()[0]:.2f} (other work on the machine skews every figure)"
    )


def print_table(results: dict, load_seconds: dict, args, peer_skipped: str) -> None:
    """Print the Markdown table, the targets and the details."""
    columns = ["floor", "peer", "rolecall"]
    head = [COLUMNS[c] for c in columns] + ["Rolecall/floor", "Rolecall/peer"]
    width = 54
    print(f"| {'measure':<{width}} | " + " | ".join(f"{h:>18}" for h in head) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * 19 + ":" for _ in head) + "|")
    for key, label, unit in ROWS:
        for cpu in (False, True):
            name = (
                "  server CPU, ms/request" if cpu else label.replace("{members}", str(args.members))
            )
            cells = []
            for column in columns:
                measure = results.get(column, {}).get(key)
                if measure is None:
                    cells.append("skipped" if column == "peer" and peer_skipped else "")
                elif cpu:
                    cells.append(f"{'~' if measure.cpu_coarse else ''}{measure.cpu_ms:.2f}")
                else:
                    cells.append(f"{measure.value:.1f}" if unit == "ms" else f"{measure.value:.0f}")
            for other in ("floor", "peer"):
                r = ratio(results, key, unit, other, cpu)
                coarse = cpu and any(
                    results[c][key].cpu_coarse
                    for c in ("rolecall", other)
                    if key in results.get(c, {})
                )
                cells.append("" if r is None else f"{'~' if coarse else ''}{r:.2f}")
            print(f"| {name:<{width}} | " + " | ".join(f"{c:>18}" for c in cells) + " |")
    print(
        "ratios are throughput: Rolecall's req/s over the other's, or for milliseconds the "
        "other's over Rolecall's; above 1, Rolecall is ahead; ~: under 0.1 s of server CPU "
        "in all, counted in 10 ms ticks (a hint, not a figure)"
    )
    print("targets of issue 12:")
    for key, other, least in TARGETS:
        label = next(label for k, label, _ in ROWS if k == key).split(",")[0]
        label = label.replace(" ({members} members)", "")
        unit = next(unit for k, _, unit in ROWS if k == key)
        r = ratio(results, key, unit, other)
        if r is None:
            verdict = "not measured (peer skipped, see below)"
        else:
            verdict = f"{r:.2f}: {'met' if r >= least else 'NOT met'}"
        print(f"  {label}: Rolecall/{other} >= {least:g} -> {verdict}")
    for column, seconds in load_seconds.items():
        deletes = ", ".join(f"{ms:.1f}" for ms in results[column]["delete_group"].each_ms)
        print(
            f"{COLUMNS[column]}: loaded over SCIM in {seconds:.1f} s; DELETE /Groups one by one "
            f"(every other one holds a role in Rolecall), ms: {deletes}"
        )
    if peer_skipped:
        print(peer_skipped)


def main() -> None:
    """Load the peer and Rolecall, serve the floor, the peer and Rolecall; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data and short runs")
    for name, value in FULL.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(value),
            help=f"default {value}, {QUICK[name]} with --quick",
        )
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument(
        "--install-peer",
        action="store_true",
        help=f"install scim2-server {PEER_VERSION} in --peer-venv (made if missing)",
    )
    parser.add_argument("--peer-venv", type=Path, default=PEER_VENV, help=f"default {PEER_VENV}")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    load_average = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    run = uuid.uuid4().hex[:6]  # userNames and displayNames stay unique on a reused database
    results: dict[str, dict[str, Measure]] = {}
    load_seconds: dict[str, float] = {}
    command, peer_skipped = peer_command(args.peer_venv, args.install_peer)
    if peer_skipped:
        print(peer_skipped, flush=True)

    if command is not None:
        token = secrets.token_urlsafe(24)
        headers = {"Authorization": f"Bearer {token}"}
        with peer_server(command, token) as (base, server), showing_output("scim2-server", server):
            print("scim2-server: loading over SCIM", flush=True)
            loaded = load_directory(base, headers, args, server, run)
            load_seconds["peer"] = loaded.seconds
            print("scim2-server: measuring", flush=True)
            results["peer"] = measure_scim(base, headers, loaded, args, server, run)

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade_database()
    org_id, token = make_directory(app)
    headers = {"Authorization": f"Bearer {token}"}
    # Like the floor app, log no line per request (it would go through a pipe this process
    # reads, on the same two cores); warnings and errors still come out.
    env = {"ROLECALL_LOG_LEVEL": "WARNING"}
    with (
        servers.gunicorn(url, workers=2, env=env) as (base, server),
        showing_output("Rolecall", server),
    ):
        print("Rolecall: loading over SCIM", flush=True)
        loaded = load_directory(
            f"{base}/scim/v2",
            headers,
            args,
            server,
            run,
            before_members=lambda group_ids: give_roles(app, org_id, group_ids[::2]),
        )
        load_seconds["rolecall"] = loaded.seconds
        report_server_lines("Rolecall (load)", server)
    analyze(app)
    with floor_server(url, tmp) as (base, server), showing_output("floor", server):
        print("floor: measuring", flush=True)
        results["floor"] = measure_floor(base, loaded, args, server)
    with (
        servers.gunicorn(url, workers=2, env=env) as (base, server),
        showing_output("Rolecall", server),
    ):
        print("Rolecall: measuring", flush=True)
        results["rolecall"] = measure_scim(f"{base}/scim/v2", headers, loaded, args, server, run)
        report_server_lines("Rolecall (measures)", server)
    print()
    print(describe(url, args, load_average))
    print_table(results, load_seconds, args, peer_skipped)


def report_server_lines(name: str, server: servers.Process) -> None:
    """Print what a server logged besides gunicorn's own INFO lines (warnings, errors)."""
    lines = [line for line in server.lines if "[INFO]" not in line]
    if lines:
        print(f"{name} logged {len(lines)} lines besides gunicorn's INFO; the first:", flush=True)
        for line in lines[:10]:
            print(f"    {line[:400]}", flush=True)


if __name__ == "__main__":
    main()
