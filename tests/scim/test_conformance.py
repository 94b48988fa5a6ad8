"""RFC 7643/7644 conformance: the public scim2-tester against a live Rolecall server."""

import threading

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from werkzeug.serving import make_server

from rbac.models import Provider
from tests.conftest import make_directory

# Statuses that mean the server broke a SHOULD (DEVIATION), a MUST (ERROR) or worse (CRITICAL).
FAILING = {Status.DEVIATION, Status.ERROR, Status.CRITICAL}

# Checks skipped on purpose (none: a new skip means a feature stopped being advertised).
EXPECTED_SKIPS: set[tuple[str, str]] = set()

# Checks that are wrong about the RFC, each with the RFC text that proves it. Empty: every
# check of scim2-tester 0.5.2 must pass.
ALLOWED_FAILURES: dict[str, str] = {}


@pytest.fixture
def live_server(app):
    """Serve the app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("provider", [Provider.GENERIC, Provider.ENTRA])
def test_scim2_tester_reports_no_failure(app, live_server, provider):
    """Every scim2-tester check passes, for a strict and for an Entra-tolerant directory."""
    directory = make_directory(app, name=provider.value, provider=provider)
    with httpx2.Client(
        base_url=f"{live_server}/scim/v2",
        headers={"Authorization": f"Bearer {directory.token}"},
        timeout=30,
    ) as http:
        results = check_server(SyncSCIMClient(http), raise_exceptions=False)

    assert len(results) > 50, "scim2-tester ran its checks"
    failures = [
        result
        for result in results
        if result.status in FAILING and result.title not in ALLOWED_FAILURES
    ]
    summary = "\n".join(
        f"{r.status.name} {r.resource_type} {r.title}: {r.reason}" for r in failures
    )
    assert not failures, summary
    skipped = {(r.resource_type, r.title) for r in results if r.status == Status.SKIPPED}
    assert skipped == EXPECTED_SKIPS
    statuses = {status.name: 0 for status in Status}
    for result in results:
        statuses[result.status.name] += 1
    print(f"\nscim2-tester {provider.value}: {len(results)} checks, {statuses}")
