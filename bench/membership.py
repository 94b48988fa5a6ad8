"""Benchmark: the cost of one-member PATCHes and a members-less GET must not grow with the group.

Builds groups of 100, 1 000 and 10 000 members, then times (in process, through the Flask
test client, on a real database) the median of a one-member add PATCH, a one-member remove
PATCH and GET /Groups/{id}?excludedAttributes=members. Prints a table and the 10 000 / 100 ratio.

    .venv/bin/python bench/membership.py                      # SQLite file in a temp folder
    scripts/with-postgres .venv/bin/python bench/membership.py  # throwaway PostgreSQL
"""

import argparse
import gc
import os
import statistics
import tempfile
import time
import uuid

from sqlalchemy import insert

from app import create_app
from app.migrate import upgrade_database
from rbac import queries, tenancy
from rbac.admin import grants, resources
from rbac.catalog import load_catalog
from rbac.context import Context
from rbac.db import utcnow
from rbac.evaluation import ResourceKind
from rbac.group_graph import transitive_members
from rbac.models import Group, GroupAssignment, GroupMembership, Organization, Provider, User
from rbac.recompute import Cause, recompute
from rbac.resources import find_resource
from web.db import get_catalog, get_engine, get_session

SIZES = (100, 1_000, 10_000)
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def build_group(app, directory, size: int) -> tuple[str, list[str]]:
    """Insert a group of `size` members plus spare users to add and remove; return their ids."""
    now = utcnow()
    users = [
        {
            "id": str(uuid.uuid4()),
            "organization_id": directory.organization_id,
            "directory_id": directory.id,
            "user_name": f"g{size}-u{n}",
            "user_name_key": f"g{size}-u{n}",
            "active": True,
            "attributes": {"userName": f"g{size}-u{n}"},
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(size + 50)
    ]
    group_id = str(uuid.uuid4())
    with app.app_context(), get_engine().begin() as connection:
        connection.execute(insert(User), users)
        connection.execute(
            insert(Group),
            [
                {
                    "id": group_id,
                    "organization_id": directory.organization_id,
                    "directory_id": directory.id,
                    "display_name": f"group-{size}",
                    "display_name_key": f"group-{size}",
                    "attributes": {"displayName": f"group-{size}"},
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        connection.execute(
            insert(GroupMembership),
            [{"group_id": group_id, "user_id": u["id"], "created_at": now} for u in users[:size]],
        )
    with app.app_context():
        # The group holds a project role, so that each membership change is a real RBAC
        # recomputation (and access events), as in production.
        session = get_session()
        org = session.get(Organization, directory.organization_id)
        project = resources.create_project(Context(session, get_catalog(), org), f"p{size}")
        group = session.get(Group, group_id)
        session.add(GroupAssignment(group_id=group.id, resource_id=project.id, role="editor"))
        session.commit()
    return group_id, [u["id"] for u in users[size:]]


def median_ms(call, rounds: int) -> float:
    """Return the median wall time of call() over rounds runs, in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("ROLECALL_LOG_LEVEL", "WARNING")  # no request lines on the terminal
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade_database()
        session = get_session()
        org = tenancy.create_organization(session, f"bench-{uuid.uuid4().hex[:8]}")
        operator = Context(session, load_catalog(), org)
        directory = tenancy.create_directory(operator, "bench", Provider.OKTA)
        _, token = tenancy.issue_token(operator, directory)
        session.commit()
        session.expunge_all()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    results = {}
    for size in SIZES:
        group_id, spare = build_group(app, directory, size)
        path = f"/scim/v2/Groups/{group_id}"

        def patch(op, user_id, path=path):
            operation = (
                {"op": "add", "path": "members", "value": [{"value": user_id}]}
                if op == "add"
                else {"op": "remove", "path": f'members[value eq "{user_id}"]'}
            )
            body = {"schemas": [PATCH], "Operations": [operation]}
            response = client.patch(path, json=body, headers=headers)
            assert response.status_code == 204, response.get_json()

        def get(path=path):
            response = client.get(
                path, query_string={"excludedAttributes": "members"}, headers=headers
            )
            assert response.status_code == 200 and "members" not in response.get_json()

        # Each add is undone by a remove, so that every round sees the same group size.
        add_times, remove_times = [], []
        for round_number in range(args.rounds):
            user_id = spare[round_number % len(spare)]
            add_times.append(median_ms(lambda user_id=user_id: patch("add", user_id), 1))
            remove_times.append(median_ms(lambda user_id=user_id: patch("remove", user_id), 1))
        results[size] = (
            statistics.median(add_times),
            statistics.median(remove_times),
            median_ms(get, args.rounds),
        )

    # check(): may a member run an asset of the group's project? (in process, from the
    # materialised table, after one membership add made the user an editor).
    check_ms = measure_check(app, directory, args.rounds * 20)
    # As each gunicorn worker does once the app is loaded (app/serving.py).
    gc.freeze()
    assign_s, unassign_s = measure_assign(app, directory, group_id)

    dialect = url.split(":", 1)[0]
    print(f"database: {dialect}; median of {args.rounds} rounds, milliseconds, in process")
    print(f"{'members':>8} | {'add PATCH':>10} | {'remove PATCH':>12} | {'GET -members':>12}")
    for size, (add, remove, get_ms) in results.items():
        print(f"{size:>8} | {add:>10.2f} | {remove:>12.2f} | {get_ms:>12.2f}")
    small, large = results[SIZES[0]], results[SIZES[-1]]
    ratios = [large[i] / small[i] for i in range(3)]
    print(
        f"{'ratio':>8} | {ratios[0]:>10.2f} | {ratios[1]:>12.2f} | {ratios[2]:>12.2f}"
        f"   ({SIZES[-1]} / {SIZES[0]}; target <= 1.3)"
    )
    print(f"check() p50: {check_ms:.3f} ms (in process, one call, materialised access)")
    print(
        f"a role to the {SIZES[-1]}-member group: assign {assign_s:.2f} s, "
        f"unassign {unassign_s:.2f} s (each one transaction; target <= 1 s)"
    )


def measure_assign(app, directory, group_id: str) -> tuple[float, float]:
    """Return the seconds taken to give a group's members a role, and to take it back.

    The members' current access is materialised first, as it is in production (where every
    membership was recomputed when it came): the assignment writes one new row and one event
    per member.
    """
    with app.app_context():
        session = get_session()
        catalog = get_catalog()
        org = session.get(Organization, directory.organization_id)
        ctx = Context(session, catalog, org)
        project = resources.create_project(ctx, "assigned")
        recompute(ctx, transitive_members(session, group_id), Cause("bench", "bench"))
        session.commit()
        group = session.get(Group, group_id)
        start = time.perf_counter()
        grants.give_role(ctx, group, "member", project)
        session.commit()
        assigned = time.perf_counter() - start
        start = time.perf_counter()
        grants.take_role(ctx, group, "member", project)
        session.commit()
        return assigned, time.perf_counter() - start


def measure_check(app, directory, rounds: int) -> float:
    """Return the median time of one check() of asset.run for an editor, in milliseconds."""
    with app.app_context():
        session = get_session()
        catalog = get_catalog()
        org = session.get(Organization, directory.organization_id)
        user = session.query(User).filter(User.directory_id == directory.id).first()
        project = find_resource(session, org, f"project:p{SIZES[0]}")
        asset = resources.create_asset(
            Context(session, catalog, org), project, ResourceKind.AGENT, "bench-agent", creator=user
        )
        session.commit()

        def check():
            decision = queries.check(session, catalog, user, "asset.run", asset)
            assert decision.allowed

        return median_ms(check, rounds)


if __name__ == "__main__":
    main()
