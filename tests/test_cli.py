"""The `rolecall` commands that need no RBAC, in the forms of PRODUCT.md's scriptable interface."""

import pytest

from app.cli import cli
from tests.conftest import ScimClient


@pytest.fixture
def run(app):
    """Invoke `rolecall ARGS...` against the test app; return the click result."""
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def _token(output: str) -> str:
    return output.strip().splitlines()[-1].removeprefix("SCIM_TOKEN=")


def test_bootstrap_is_idempotent_and_prints_a_new_token_each_call(run, client):
    """Bootstrap creates what is missing, prints the base URL and a fresh working token."""
    first = run("bootstrap", "--org", "acme", "--directory", "okta", "--provider", "okta")
    second = run("bootstrap", "--org", "acme", "--directory", "okta", "--provider", "okta")
    assert first.exit_code == 0 and second.exit_code == 0
    lines = first.output.strip().splitlines()
    assert lines[0] == "SCIM_BASE_URL=http://localhost/scim/v2"
    assert lines[1].startswith("SCIM_TOKEN=rcs_")
    tokens = {_token(first.output), _token(second.output)}
    assert len(tokens) == 2
    for token in tokens:
        assert ScimClient(client, token).get("/Users").status_code == 200


def test_bootstrap_refuses_to_change_a_directory_provider(run):
    """Bootstrapping an existing directory with another provider is bad input (exit 2)."""
    run("bootstrap", "--org", "acme", "--directory", "idp", "--provider", "okta")
    result = run("bootstrap", "--org", "acme", "--directory", "idp", "--provider", "entra")
    assert result.exit_code == 2
    assert "provider" in result.output


def test_bootstrap_rejects_an_unknown_provider(run):
    """An unknown provider is a usage error (exit 2)."""
    result = run("bootstrap", "--org", "acme", "--directory", "x", "--provider", "ldap")
    assert result.exit_code == 2


def test_token_create_list_revoke(run, client):
    """A created token works, is listed without its secret, and stops working once revoked."""
    run("bootstrap", "--org", "acme", "--directory", "okta", "--provider", "okta")
    created = run("token", "create", "--org", "acme", "--directory", "okta")
    assert created.exit_code == 0
    token = created.output.strip().splitlines()[-1]
    scim = ScimClient(client, token)
    assert scim.get("/Users").status_code == 200

    listed = run("token", "list", "--org", "acme", "--directory", "okta")
    assert listed.exit_code == 0
    rows = [line.split("\t") for line in listed.output.strip().splitlines()[1:]]
    assert len(rows) == 2
    assert token not in listed.output
    token_id = next(row[0] for row in rows if token.startswith(row[1].rstrip("…")))
    assert all(row[5] == "active" for row in rows)

    revoked = run("token", "revoke", "--org", "acme", "--directory", "okta", token_id)
    assert revoked.exit_code == 0
    assert scim.get("/Users").status_code == 401
    listed = run("token", "list", "--org", "acme", "--directory", "okta")
    assert "revoked" in listed.output


def test_token_commands_exit_2_on_unknown_names(run):
    """Unknown organizations, directories and token ids are bad input: exit 2."""
    run("bootstrap", "--org", "acme", "--directory", "okta")
    assert run("token", "create", "--org", "nope", "--directory", "okta").exit_code == 2
    assert run("token", "create", "--org", "acme", "--directory", "nope").exit_code == 2
    assert run("token", "revoke", "--org", "acme", "--directory", "okta", "999").exit_code == 2
    assert run("token", "list", "--org", "acme").exit_code == 2


def test_expiring_token(run, client):
    """--expires-in-days sets an expiry that `token list` shows."""
    run("bootstrap", "--org", "acme", "--directory", "okta")
    created = run(
        "token", "create", "--org", "acme", "--directory", "okta", "--expires-in-days", "30"
    )
    assert (
        ScimClient(client, created.output.strip().splitlines()[-1]).get("/Users").status_code == 200
    )
    listed = run("token", "list", "--org", "acme", "--directory", "okta").output
    assert any(line.split("\t")[4] != "-" for line in listed.strip().splitlines()[1:])


def test_db_upgrade_is_repeatable(run):
    """Db upgrade on an up-to-date database succeeds."""
    result = run("db", "upgrade")
    assert result.exit_code == 0


def test_bootstrap_rejects_bad_names(run):
    """An organization slug or directory name the model cannot hold is bad input (exit 2)."""
    for org, directory in [("Not A Slug", "okta"), ("x" * 65, "okta"), ("acme", "d" * 201)]:
        result = run("bootstrap", "--org", org, "--directory", directory)
        assert result.exit_code == 2, result.output
