"""Benchmark: the CPU one SCIM request costs in process, by kind, and optionally its profile.

Through the Flask test client on a real database (no network, no gunicorn), after 50 requests
of warm-up, the process CPU time (`time.process_time`, so that other load on the machine
matters less than to wall time) of REQUESTS requests of each kind:

- GET /Users/{id};
- GET /Users?filter=userName eq "…" that finds nothing (an IdP's look-up before a create);
- GET /Groups/{id}?excludedAttributes=members;
- POST /Users (Entra's body: name, emails, active);
- PATCH /Users/{id} replacing active (each request flips it: a recomputation each time);
- the same, of users who are members of ROLE_GROUPS groups each holding a project role (as in
  the sync benchmark, where a user is in about ten groups, five of them holding roles);
- PATCH /Groups/{id} adding 100 members to a new group holding a project role.

`--profile KIND` prints cProfile's 40 costliest functions of that kind instead (cumulative).
Statements are counted per request. Used to find and check the changes of issue 12
(docs/performance.md).

    .venv/bin/python bench/scim_cpu.py                           # SQLite file in a temp folder
    scripts/with-postgres .venv/bin/python bench/scim_cpu.py     # throwaway PostgreSQL
    .venv/bin/python bench/scim_cpu.py --profile post_user
"""

import argparse
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.migrate import upgrade_database  # noqa: E402
from rbac import tenancy  # noqa: E402
from rbac.admin import grants, resources  # noqa: E402
from rbac.catalog import load_catalog  # noqa: E402
from rbac.context import Context  # noqa: E402
from rbac.models import Group, Organization, Provider  # noqa: E402
from web.db import get_catalog, get_engine, get_session  # noqa: E402

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WARMUP = 50
MEMBERS = 100
ROLE_GROUPS = 10


class Bench:
    """An organization with USERS users, a directory token, and one request maker per kind."""

    def __init__(self, app, users: int):
        self.app = app
        with app.app_context():
            session = get_session()
            org = tenancy.create_organization(session, f"cpu-{uuid.uuid4().hex[:6]}")
            operator = Context(session, load_catalog(), org)
            directory = tenancy.create_directory(operator, "entra", Provider.ENTRA)
            _, token = tenancy.issue_token(operator, directory)
            session.commit()
            self.org_id = org.id
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.user_ids = [self.post_user(f"seed{n}") for n in range(users)]
        self.group_id = self._post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "g"})

    def _post(self, path: str, body: dict) -> str:
        response = self.client.post(f"/scim/v2{path}", json=body, headers=self.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def get_user(self, n: int) -> None:
        """GET one user."""
        user_id = self.user_ids[n % len(self.user_ids)]
        response = self.client.get(f"/scim/v2/Users/{user_id}", headers=self.headers)
        assert response.status_code == 200

    def filter_users(self, n: int) -> None:
        """Look a userName up that does not exist."""
        query = {"filter": f'userName eq "nobody{n}@example.com"'}
        response = self.client.get("/scim/v2/Users", query_string=query, headers=self.headers)
        assert response.status_code == 200 and response.get_json()["totalResults"] == 0

    def get_group(self, n: int) -> None:
        """GET a group without its members."""
        path = f"/scim/v2/Groups/{self.group_id}?excludedAttributes=members"
        assert self.client.get(path, headers=self.headers).status_code == 200

    def post_user(self, n) -> str:
        """Create a user as Entra sends it."""
        name = f"user-{n}-{uuid.uuid4().hex[:6]}@example.com"
        body = {
            "schemas": [USER_SCHEMA],
            "userName": name,
            "active": True,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": name, "type": "work", "primary": True}],
        }
        return self._post("/Users", body)

    def patch_user(self, n: int, user_ids: list[str] | None = None) -> None:
        """Flip one user's active flag (Entra's form): every pass over the users flips them all."""
        user_ids = user_ids or self.user_ids
        user_id = user_ids[n % len(user_ids)]
        operation = {"op": "replace", "path": "active", "value": (n // len(user_ids)) % 2 == 1}
        body = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
        response = self.client.patch(f"/scim/v2/Users/{user_id}", json=body, headers=self.headers)
        assert response.status_code == 200, response.get_json()

    def patch_member(self, n: int) -> None:
        """Flip the active flag of a user in ROLE_GROUPS groups holding roles."""
        self.patch_user(n, self._members)

    def prepare_members(self) -> None:
        """Make users of their own (active), members of ROLE_GROUPS groups holding roles."""
        self._members = [self.post_user(f"member{n}") for n in range(len(self.user_ids))]
        self.prepare_groups(ROLE_GROUPS)
        value = [{"value": u} for u in self._members]
        body = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add", "path": "members"}]}
        body["Operations"][0]["value"] = value
        for group_id in self._pending_groups:
            response = self.client.patch(
                f"/scim/v2/Groups/{group_id}", json=body, headers=self.headers
            )
            assert response.status_code in (200, 204), response.get_json()

    def add_members(self, n: int) -> None:
        """Add 100 members to a new group that holds a project role (made before timing).

        Each group takes the next 100 users, round the list: with --users 1000, a user ends up
        in about one group in ten, as in the sync benchmark (with the default 100, in all).
        """
        group_id = self._pending_groups.pop()
        start = n * MEMBERS % len(self.user_ids)
        members = [{"value": u} for u in (self.user_ids * 2)[start : start + MEMBERS]]
        body = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add", "path": "members"}]}
        body["Operations"][0]["value"] = members
        response = self.client.patch(f"/scim/v2/Groups/{group_id}", json=body, headers=self.headers)
        assert response.status_code in (200, 204), response.get_json()

    def prepare_groups(self, count: int) -> None:
        """Make the groups add_members fills, each holding a role on a project of its own."""
        self._pending_groups = []
        for k in range(count):
            group_id = self._post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": f"t{k}"})
            with self.app.app_context():
                session = get_session()
                ctx = Context(session, get_catalog(), session.get(Organization, self.org_id))
                project = resources.create_project(ctx, f"p{k}-{uuid.uuid4().hex[:4]}")
                grants.give_role(ctx, session.get(Group, group_id), "editor", project)
                session.commit()
            self._pending_groups.append(group_id)


KINDS = {
    "get_user": ("GET /Users/{id}", Bench.get_user, 1),
    "filter_users": ('GET /Users?filter=userName eq "…"', Bench.filter_users, 1),
    "get_group": ("GET /Groups/{id}?excludedAttributes=members", Bench.get_group, 1),
    "post_user": ("POST /Users", Bench.post_user, 1),
    "patch_user": ("PATCH /Users/{id} active", Bench.patch_user, 1),
    "patch_member": (f"PATCH /Users/{{id}} active, in {ROLE_GROUPS} groups with roles", None, 1),
    "add_members": (f"PATCH /Groups/{{id}} add {MEMBERS} members (role held)", None, 10),
}


def measure(bench: Bench, kind: str, requests: int, profile: bool) -> tuple[float, float]:
    """Return CPU ms and statements per request of one kind (print a profile if asked)."""
    _, call, divisor = KINDS[kind]
    count = max(1, requests // divisor)
    warmup = WARMUP
    if kind == "add_members":
        bench.prepare_groups(count + 2)
        call, warmup = Bench.add_members, 2
    elif kind == "patch_member":
        bench.prepare_members()
        call = Bench.patch_member
    for n in range(warmup):
        call(bench, n)
    statements = [0]

    def counted(*_):
        statements[0] += 1

    with bench.app.app_context():
        engine = get_engine()
    event.listen(engine, "before_cursor_execute", counted)
    profiler = cProfile.Profile()
    start = time.process_time()
    if profile:
        profiler.enable()
    for n in range(count):
        call(bench, warmup + n)
    profiler.disable()
    cpu = time.process_time() - start
    event.remove(engine, "before_cursor_execute", counted)
    if profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return cpu * 1000 / count, statements[0] / count


def main() -> None:
    """Build the organization and print CPU per request for each kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--users", type=int, default=MEMBERS)
    parser.add_argument("--profile", choices=sorted(KINDS), help="profile one kind instead")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("ROLECALL_LOG_LEVEL", "WARNING")  # no request lines on the terminal
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade_database()
    bench = Bench(app, args.users)
    gc.freeze()  # as each gunicorn worker does once the app is loaded (app/serving.py)
    kinds = [args.profile] if args.profile else list(KINDS)
    dialect = url.split(":", 1)[0].split("+")[0]
    print(f"database: {dialect}; in process; CPU per request after warm-up")
    print(f"{'request':55} {'CPU ms':>8} {'statements':>11}")
    for kind in kinds:
        cpu_ms, statements = measure(bench, kind, args.requests, bool(args.profile))
        print(f"{KINDS[kind][0]:55} {cpu_ms:8.2f} {statements:11.1f}")


if __name__ == "__main__":
    main()
