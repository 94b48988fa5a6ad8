"""The README's `make run`: migrations, first org and token printed, gunicorn serving."""

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import USER_SCHEMA
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


@pytest.mark.slow
def test_run_serves_each_request_in_its_own_context(tmp_path):
    """`rolecall run` sets up, then forks its workers outside that app context.

    Forked inside it, a worker kept one `g` for every request: one database session (whose
    identity map served rows as they were when first read) and one correlation id.
    """
    port, database = free_port(), tmp_path / "rolecall.sqlite3"
    env = {"ROLECALL_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{database}"}
    rolecall = str(Path(sys.executable).with_name("rolecall"))
    server = Process([rolecall, "run", "--port", str(port), "--workers", "1"], env=env)
    try:
        base_url = server.wait_for_line("SCIM_BASE_URL=").removeprefix("SCIM_BASE_URL=")
        token = server.wait_for_line("SCIM_TOKEN=").removeprefix("SCIM_TOKEN=")
        headers = {"Authorization": f"Bearer {token}"}
        wait_until_serving(f"{base_url}/Users", headers, process=server)
        body = {"schemas": [USER_SCHEMA], "userName": "ada@example.com"}
        user = requests.post(f"{base_url}/Users", json=body, headers=headers, timeout=30).json()
        first = requests.get(f"{base_url}/Users/{user['id']}", headers=headers, timeout=30)
        with sqlite3.connect(database) as connection:  # another writer changes the row
            connection.execute("UPDATE users SET version = version + 1 WHERE id = ?", [user["id"]])
        second = requests.get(f"{base_url}/Users/{user['id']}", headers=headers, timeout=30)
        assert (first.headers["ETag"], second.headers["ETag"]) == ('W/"1"', 'W/"2"')
        assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    finally:
        server.stop()
