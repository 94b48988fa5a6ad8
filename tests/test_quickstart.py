"""The README's `make run`: migrations, first org and token printed, gunicorn serving."""

import shutil

import pytest

from tests.servers import Process, free_port, wait_until_serving


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is required by the README")
def test_make_run_bootstraps_and_serves(tmp_path):
    """First start prints a working token; the second start says how to make one."""
    port = free_port()
    env = {"ROLECALL_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": ""}
    server = Process(["make", "--no-print-directory", "run", f"PORT={port}"], env=env)
    try:
        base_url = server.wait_for_line("SCIM_BASE_URL=").removeprefix("SCIM_BASE_URL=")
        token = server.wait_for_line("SCIM_TOKEN=").removeprefix("SCIM_TOKEN=")
        assert (tmp_path / "rolecall.sqlite3").exists()
        assert base_url == f"http://127.0.0.1:{port}/scim/v2"
        # The printed URL is the one that answers, with the printed token.
        headers = {"Authorization": f"Bearer {token}"}
        response = wait_until_serving(f"{base_url}/Users", headers, process=server)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/scim+json"
        assert response.json()["totalResults"] == 0
    finally:
        server.stop()

    again = Process(["make", "--no-print-directory", "run", f"PORT={port}"], env=env)
    try:
        assert again.wait_for_line("SCIM_BASE_URL=") == f"SCIM_BASE_URL={base_url}"
        assert again.wait_for_line("New token:").startswith("New token: rolecall token create")
        assert not [line for line in again.lines if line.startswith("SCIM_TOKEN=")]
    finally:
        again.stop()
