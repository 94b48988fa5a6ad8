"""Benchmark: `rolecall verify` of an organization with 100 000 group memberships.

Builds, in bulk, USERS users in GROUPS groups of MEMBERS members each (a random sample, seed 7),
half of the groups holding a role on a project or on one of its agents, materialises everyone's
access through the RBAC engine (one recomputation of every user, timed too), then runs
`rolecall verify --org` as an operator would (a new process, its start-up included) and prints
its wall time against issue 12's target (< 10 s), and whether it found drift (it must not).

    .venv/bin/python bench/verify.py                          # SQLite file in a temp folder
    scripts/with-postgres .venv/bin/python bench/verify.py    # throwaway PostgreSQL
"""

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.migrate import upgrade_database  # noqa: E402
from bench.sync import run_verify  # noqa: E402
from rbac import tenancy  # noqa: E402
from rbac.admin import grants, resources  # noqa: E402
from rbac.catalog import load_catalog  # noqa: E402
from rbac.context import Context  # noqa: E402
from rbac.db import utcnow  # noqa: E402
from rbac.evaluation import ResourceKind  # noqa: E402
from rbac.models import Group, GroupMembership, Organization, Provider, User  # noqa: E402
from rbac.recompute import Cause, recompute  # noqa: E402
from web.db import get_catalog, get_engine, get_session  # noqa: E402

TARGET_SECONDS = 10


def build(app, users: int, groups: int, members: int) -> tuple[str, int]:
    """Insert the organization in bulk and give half the groups roles; return slug, memberships."""
    rng = random.Random(7)
    slug = f"verify-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        session = get_session()
        org = tenancy.create_organization(session, slug)
        directory = tenancy.create_directory(
            Context(session, load_catalog(), org), "okta", Provider.OKTA
        )
        session.commit()
        org_id, directory_id = org.id, directory.id
    now = utcnow()
    user_ids = [str(uuid.uuid4()) for _ in range(users)]
    group_ids = [str(uuid.uuid4()) for _ in range(groups)]
    common = {"organization_id": org_id, "directory_id": directory_id, "version": 1}
    common |= {"created_at": now, "updated_at": now}
    memberships = [
        {"group_id": group_id, "user_id": user_id, "created_at": now}
        for group_id in group_ids
        for user_id in rng.sample(user_ids, members)
    ]
    with app.app_context(), get_engine().begin() as connection:
        connection.execute(
            insert(User),
            [
                {"id": u, "user_name": f"u{n}", "user_name_key": f"u{n}", "active": True}
                | {"attributes": {}}
                | common
                for n, u in enumerate(user_ids)
            ],
        )
        connection.execute(
            insert(Group),
            [
                {"id": g, "display_name": f"team-{n}", "display_name_key": f"team-{n}"}
                | {"attributes": {}}
                | common
                for n, g in enumerate(group_ids)
            ],
        )
        connection.execute(insert(GroupMembership), memberships)
    with app.app_context():
        session = get_session()
        org = session.get(Organization, org_id)
        ctx = Context(session, get_catalog(), org)
        for n, group_id in enumerate(group_ids[::2]):
            project = resources.create_project(ctx, f"project-{n}")
            target, role = project, "editor"
            if n % 2:
                target = resources.create_asset(ctx, project, ResourceKind.AGENT, "agent")
                role = "member"
            grants.give_role(ctx, session.get(Group, group_id), role, target)
        session.commit()
        start = time.perf_counter()
        recompute(ctx, user_ids, Cause("bench", "bench"))
        session.commit()
        print(f"materialising every user's access: {time.perf_counter() - start:.1f} s")
        session.execute(text("ANALYZE"))
        session.commit()
    return slug, len(memberships)


def main() -> None:
    """Build the organization, run verify, print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=1_000, help="members per group")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade_database()
    slug, memberships = build(app, args.users, args.groups, args.members)
    seconds, clean, output = run_verify(url, slug)
    dialect = url.split(":", 1)[0].split("+")[0]
    print(
        f"database: {dialect}; {args.users} users, {args.groups} groups, {memberships} "
        f"memberships, {args.groups - args.groups // 2} groups holding roles"
    )
    met = "met" if seconds < TARGET_SECONDS and clean else "NOT met"
    print(
        f"rolecall verify --org: {seconds:.1f} s (process start-up included), "
        f"{'clean' if clean else 'DRIFT'}; target < {TARGET_SECONDS} s: {met}"
    )
    if not clean:
        print(output[-4000:])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
