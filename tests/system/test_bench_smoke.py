"""The benchmarks stay runnable: bench/membership.py's steps, and the others end to end, tiny."""

import os
import subprocess
import sys

import pytest

from bench import membership
from bench.profile_shares import shares
from rbac import tenancy
from rbac.catalog import load_catalog
from rbac.context import Context
from rbac.models import Provider
from tests.servers import ROOT
from web.db import get_session


def test_bench_steps_run_on_a_small_group(app):
    """build_group, measure_check and measure_assign work against the current engine."""
    with app.app_context():
        session = get_session()
        org = tenancy.create_organization(session, "bench")
        directory = tenancy.create_directory(
            Context(session, load_catalog(), org), "bench", Provider.OKTA
        )
        session.commit()
        session.expunge_all()
    group_id, spare = membership.build_group(app, directory, membership.SIZES[0])
    assert len(spare) > 0
    assert membership.measure_check(app, directory, rounds=3) > 0
    assigned, unassigned = membership.measure_assign(app, directory, group_id)
    assert assigned > 0 and unassigned > 0


# The engine code the benchmarks drive runs on both backends in the rest of the suite; this
# keeps the scripts runnable, once, in the SQLite pass (the `make bench-*` targets run them,
# full size, on both backends).
@pytest.mark.one_backend
@pytest.mark.parametrize(
    "command",
    [
        "bench/sync.py --users 40 --groups 4 --members 20 --clients 2",
        "bench/verify.py --users 40 --groups 4 --members 20",
        "bench/scim_cpu.py --requests 20 --users 20",
        "bench/login_flood.py --clients 2 --seconds 0.5 --users 3",
        # Without the peer's virtualenv its rows are skipped; the floor and Rolecall still run.
        "bench/scim_side_by_side.py --quick --users 30 --groups 2 --members 20 --warmup 0.2"
        " --duration 0.5 --user-deletes 5 --group-deletes 1 --clients 2 --peer-venv /nonexistent",
    ],
    ids=["sync", "verify", "scim-cpu", "login-flood", "side-by-side"],
)
def test_benchmarks_run_end_to_end(app, database_url, command):
    """Each benchmark runs through at a tiny size and exits 0 (no error, no drift).

    (`app`: so that the tables are emptied after, as after any test that used the database.)
    """
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, *command.split()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_profile_shares_counts_worker_samples_inclusively(tmp_path):
    """py-spy's collapsed stacks: a function's share counts each sample once, workers only."""
    raw = tmp_path / "sync.raw"
    raw.write_text(
        'process 1:"gunicorn";handle_request (gunicorn/workers/sync.py:10);'
        "create_user (scim/views.py:143);recompute (rbac/recompute.py:52);"
        "recompute (rbac/recompute.py:99) 3\n"
        'process 1:"gunicorn";handle_request (gunicorn/workers/sync.py:10);'
        "list_users (scim/views.py:120) 1\n"
        'process 2:"client";post (requests/api.py:1) 50\n'
    )
    workers, selected, inclusive = shares(str(raw), r"\((rbac|scim)/", None)
    assert (workers, selected) == (4, 4)
    assert inclusive["recompute (rbac/recompute.py)"] == 3  # two frames, one sample each time
    assert inclusive["list_users (scim/views.py)"] == 1
    _, within, inclusive = shares(str(raw), r"\((rbac|scim)/", "create_user (scim")
    assert within == 3 and "list_users (scim/views.py)" not in inclusive
