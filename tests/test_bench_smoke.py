"""The benchmarks stay runnable: each measuring step of bench/membership.py on a tiny group."""

from app.db import get_session
from bench import membership
from rbac import tenancy
from rbac.models import Provider


def test_bench_steps_run_on_a_small_group(app):
    """build_group, measure_check and measure_assign work against the current engine."""
    with app.app_context():
        session = get_session()
        org = tenancy.create_organization(session, "bench")
        directory = tenancy.create_directory(session, org, "bench", Provider.OKTA)
        session.commit()
        session.expunge_all()
    group_id, spare = membership.build_group(app, directory, membership.SIZES[0])
    assert len(spare) > 0
    assert membership.measure_check(app, directory, rounds=3) > 0
    assert membership.measure_assign(app, directory, group_id) > 0
