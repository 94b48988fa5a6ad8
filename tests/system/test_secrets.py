"""No token, API key or password is kept in clear: not in the database, the logs or the journal."""

import base64
import secrets
from pathlib import Path
from string import hexdigits

import pytest
import requests
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from app.cli import cli
from rbac.db import Base
from rbac.models import ApiKey, DirectoryToken
from tests import servers
from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, SCIM_JSON, USER_SCHEMA, ScimClient
from web.db import get_engine

# gunicorn writes no access log unless asked; "the logs" include it.
ACCESS_LOG = {"GUNICORN_CMD_ARGS": "--access-logfile - --error-logfile -"}
ORG, DIRECTORY = "acme", "okta"
SECRET_PREFIXES = ("rcs_", "rck_")
PIECE = 16


def _rolecall(app, *args: str) -> str:
    """Run `rolecall ARGS...` on the test app; return its output, failing on a non-zero exit."""
    result = app.test_cli_runner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _last_line(output: str) -> str:
    """Return the last line of a command's output, where secrets are printed."""
    return output.strip().splitlines()[-1]


def _new_token(app) -> tuple[int, str]:
    """Create a directory token; return its id and its plaintext."""
    output = _rolecall(app, "token", "create", "--org", ORG, "--directory", DIRECTORY)
    return int(output.split()[1]), _last_line(output)


def _password() -> str:
    """Return a new random password, as an IdP would send."""
    return "Pw-" + secrets.token_urlsafe(18)


def _pieces(secret: str) -> set[str]:
    """Pieces of the secret and of its trivial encodings: any 23 characters in a row hold one."""
    raw = secret.encode()
    random_part = secret
    for prefix in SECRET_PREFIXES:
        random_part = random_part.removeprefix(prefix)
    forms = [
        random_part,
        raw.hex(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    ]
    # A token's prefix (rcs_ and 6 characters) is stored so operators can tell tokens apart.
    return {form[i : i + PIECE] for form in forms for i in range(0, len(form) - PIECE + 1, 8)}


def _leaks(plaintexts: dict[str, str], places: dict[str, str]) -> list[str]:
    """Say which secret shows, in clear or trivially encoded, in which place."""
    return [
        f"{name} in {where}: {text[:300]!r}"
        for name, secret in plaintexts.items()
        for where, text in places.items()
        if any(piece in text for piece in _pieces(secret))
    ]


def _database_values(app) -> dict[str, str]:
    """Every row of every table in the database, each stringified, keyed by table and row."""
    places = {}
    with app.app_context():
        engine = get_engine()
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for number, row in enumerate(connection.execute(select(table))):
                    places[f"table {table.name} row {number}"] = " ".join(map(str, row))
    assert set(Base.metadata.tables) <= set(metadata.tables)
    return places


def _sqlite_files(database_url: str) -> dict[str, str]:
    """The bytes of a SQLite database and its journal files, which keep deleted pages too."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return {}
    main = Path(url.database)
    files = [main, *main.parent.glob(main.name + "-*")]
    return {f"file {path.name}": path.read_bytes().decode("latin-1") for path in files}


@pytest.mark.slow
def test_no_secret_is_kept_in_clear_after_a_full_run(app, database_url):
    """Tokens, API keys and user passwords used in a run are absent from database, logs, journal."""
    boot_output = _rolecall(
        app, "bootstrap", "--org", ORG, "--directory", DIRECTORY, "--provider", "okta"
    )
    tokens = {"bootstrap token": _last_line(boot_output).removeprefix("SCIM_TOKEN=")}
    revoked_id, tokens["revoked token"] = _new_token(app)
    _rolecall(app, "token", "revoke", "--org", ORG, "--directory", DIRECTORY, str(revoked_id))
    _, tokens["query-string token"] = _new_token(app)
    rotated = _rolecall(
        app, "token", "rotate", "--org", ORG, "--directory", DIRECTORY, "--grace-hours", "1"
    )
    tokens["rotated token"] = _last_line(rotated)
    tokens["never issued token"] = "rcs_" + secrets.token_urlsafe(32)
    key_output = _rolecall(app, "apikey", "create", "--org", ORG, "--name", "ci")
    tokens["API key"] = _last_line(key_output)
    revoked_key_output = _rolecall(app, "apikey", "create", "--org", ORG, "--name", "old")
    tokens["revoked API key"] = _last_line(revoked_key_output)
    _rolecall(app, "apikey", "revoke", "--org", ORG, revoked_key_output.split()[2])
    passwords = {
        f"password sent on {step}": _password()
        for step in ("POST", "PUT", "PATCH path", "PATCH no path", "bad POST", "bad PATCH", "409")
    }
    assert all(token.startswith(SECRET_PREFIXES) for token in tokens.values())

    responses = []

    def call(method, path, expect, authorization=None, json=None, headers=None):
        headers = dict(headers or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        if json is not None:
            headers["Content-Type"] = SCIM_JSON
        response = requests.request(method, base + path, json=json, headers=headers, timeout=30)
        assert response.status_code == expect, (method, path, response.text)
        responses.append(response)
        return response

    with servers.gunicorn(database_url, workers=2, env=ACCESS_LOG) as (base, server):
        bearer = f"Bearer {tokens['rotated token']}"
        user = {"schemas": [USER_SCHEMA], "emails": [{"value": "ann@example.com"}]}
        ann = call(
            "POST",
            "/scim/v2/Users",
            201,
            bearer,
            {**user, "userName": "ann", "password": passwords["password sent on POST"]},
        ).json()
        ann_path = f"/scim/v2/Users/{ann['id']}"
        # Okta's PUT: the whole user again, with id, groups and the password.
        okta_put = {**user, "userName": "ann", "id": ann["id"], "groups": []}
        okta_put["password"] = passwords["password sent on PUT"]
        call("PUT", ann_path, 200, bearer, okta_put)
        patch = {"schemas": [PATCH_SCHEMA]}
        path_op = {"op": "replace", "path": "password"}
        path_op["value"] = passwords["password sent on PATCH path"]
        call("PATCH", ann_path, 200, bearer, {**patch, "Operations": [path_op]})
        no_path_op = {
            "op": "replace",
            "value": {"password": passwords["password sent on PATCH no path"]},
        }
        call("PATCH", ann_path, 200, bearer, {**patch, "Operations": [no_path_op]})
        bad_user = {
            **user,
            "userName": "bob",
            "password": {"value": passwords["password sent on bad POST"]},
        }
        call("POST", "/scim/v2/Users", 400, bearer, bad_user)
        bad_op = {
            "op": "replace",
            "path": "password",
            "value": [passwords["password sent on bad PATCH"]],
        }
        call("PATCH", ann_path, 400, bearer, {**patch, "Operations": [bad_op]})
        taken = {**user, "userName": "ann", "password": passwords["password sent on 409"]}
        call("POST", "/scim/v2/Users", 409, bearer, taken)
        bob = call("POST", "/scim/v2/Users", 201, bearer, {**user, "userName": "bob"}).json()
        group = {"schemas": [GROUP_SCHEMA], "displayName": "eng", "members": [{"value": ann["id"]}]}
        eng = call("POST", "/scim/v2/Groups", 201, bearer, group).json()
        add_bob = {"op": "add", "path": "members", "value": [{"value": bob["id"]}]}
        call(
            "PATCH", f"/scim/v2/Groups/{eng['id']}", 204, bearer, {**patch, "Operations": [add_bob]}
        )
        read_back = [
            call("GET", ann_path, 200, bearer).json(),
            call("GET", ann_path + "?attributes=password", 200, bearer).json(),
            *call("GET", "/scim/v2/Users?filter=userName%20eq%20%22ann%22", 200, bearer).json()[
                "Resources"
            ],
        ]
        # The old token still works during the rotation's grace, written the careless way.
        call("GET", "/scim/v2/Users", 200, f"bearer  {tokens['bootstrap token']}")
        call("DELETE", f"/scim/v2/Users/{bob['id']}", 204, bearer)

        # Secrets that do not authenticate, and secrets in places a careless client might use.
        for token in ("revoked token", "never issued token", "API key"):
            call("GET", "/scim/v2/Users", 401, f"Bearer {tokens[token]}")
        bootstrap = tokens["bootstrap token"]
        # The token as a Basic password (gunicorn logs the Basic user name: see the test below).
        basic_user = base64.b64encode(f"okta:{bootstrap}".encode()).decode()
        for authorization in (f"Token {bootstrap}", bootstrap, f"Basic {basic_user}"):
            call("GET", "/scim/v2/Users", 401, authorization)
        call("GET", "/scim/v2/Users", 401, headers={"X-Request-Id": bootstrap})
        call("GET", f"/scim/v2/Users?access_token={tokens['query-string token']}", 401)

        call("GET", "/api/v1/events", 200, f"Bearer {tokens['API key']}")
        for token in ("revoked API key", "rotated token"):
            call("GET", "/api/v1/events", 401, f"Bearer {tokens[token]}")

        # Rotating with no grace ends every older token at once; the newest one takes over.
        final = _rolecall(
            app, "token", "rotate", "--org", ORG, "--directory", DIRECTORY, "--grace-hours", "0"
        )
        tokens["final token"] = _last_line(final)
        call("GET", "/scim/v2/Users", 401, bearer)
        call("GET", ann_path, 200, f"Bearer {tokens['final token']}")

    journal = _rolecall(app, "journal", "--org", ORG, "--directory", DIRECTORY, "--limit", "1000")
    journal_lines = journal.strip().splitlines()[1:]
    assert any(f"PATCH\t{ann_path}\t" in line for line in journal_lines), journal
    assert any(" 401 " in line and "/scim/v2/Users" in line for line in server.lines), (
        "gunicorn's access log is off:\n" + "\n".join(server.lines)
    )
    with app.app_context(), get_engine().connect() as connection:
        digests = [*connection.scalars(select(DirectoryToken.token_hash))]
        digests += connection.scalars(select(ApiKey.key_hash))
    assert len(digests) == 7
    assert all(len(digest) == 64 and set(digest) <= set(hexdigits) for digest in digests)

    plaintexts = {**tokens, **passwords}
    # A client that puts its token in the URL publishes it to every access log on the way;
    # the server refuses it (401, so no journal line) but cannot keep it out of gunicorn's log.
    in_logs = {name: value for name, value in plaintexts.items() if name != "query-string token"}
    leaks = _leaks(plaintexts, _database_values(app))
    leaks += _leaks(plaintexts, _sqlite_files(database_url))
    leaks += _leaks(in_logs, {f"log line {n}": line for n, line in enumerate(server.lines)})
    leaks += _leaks(plaintexts, {f"journal line {n}": line for n, line in enumerate(journal_lines)})
    leaks += _leaks(plaintexts, {f"response {n}": r.text for n, r in enumerate(responses)})
    assert not leaks, "\n".join(leaks)
    assert all("password" not in user for user in read_back)


def test_journal_redacts_a_token_sent_in_the_query_string_or_the_path(app, client, directory):
    """A token a client also sends in the URL is not kept in the journal (viewer keys read it).

    In ?access_token=, in any other parameter, or in the path: wherever it is, by its prefix.
    """
    scim = ScimClient(client, directory.token)
    scim.get(f"/Users?access_token={directory.token}")
    scim.get(f"/Users?token={directory.token}&count=1")
    scim.get(f"/Users/{directory.token}")
    journal = _rolecall(app, "journal", "--org", directory.org_slug, "--directory", directory.name)
    assert "/scim/v2/Users?access_token=" in journal
    assert "/scim/v2/Users?token=%5Bredacted%5D&count=1" in journal
    assert "/scim/v2/Users/[redacted]" in journal
    assert directory.token not in journal


@pytest.mark.slow
def test_access_log_keeps_no_token_sent_as_a_basic_user_name(app, database_url):
    """A token an IdP set up for Basic auth sends as the user name stays out of the access log."""
    output = _rolecall(app, "bootstrap", "--org", ORG, "--directory", DIRECTORY)
    token = _last_line(output).removeprefix("SCIM_TOKEN=")
    basic = base64.b64encode(f"{token}:".encode()).decode()
    with servers.gunicorn(database_url, workers=1, env=ACCESS_LOG) as (base, server):
        headers = {"Authorization": f"Basic {basic}"}
        response = requests.get(f"{base}/scim/v2/Users", headers=headers, timeout=30)
        assert response.status_code == 401
    assert any(" 401 " in line and "/scim/v2/Users" in line for line in server.lines)
    leaks = _leaks({"token": token}, {f"log line {n}": line for n, line in enumerate(server.lines)})
    assert not leaks, "\n".join(leaks)
