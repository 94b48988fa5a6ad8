"""Fixtures: one migrated database per run: SQLite, or PostgreSQL if ROLECALL_TEST_DATABASE_URL."""

import json
import os
import re
import tempfile
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text

from app import create_app
from app.cli import cli
from app.migrate import upgrade_database
from rbac import tenancy
from rbac.catalog import load_catalog
from rbac.context import Context
from rbac.db import Base, make_engine
from rbac.event_log import read_events
from rbac.models import EffectiveAccess, Provider
from web.db import get_engine, get_session

# This run's hashing slots (rbac.hash_slots), in and out of process: another run on the machine
# holds its own, so that two suites at once never find each other's sign-ins busy.
os.environ.setdefault("ROLECALL_LOGIN_HASH_SLOTS_DIR", tempfile.mkdtemp(prefix="rolecall-slots-"))

SCIM_JSON = "application/scim+json"


def examples(variable: str, sqlite: int, postgresql: int) -> int:
    """How many examples a property test draws: its variable's, else the backend's default.

    The PostgreSQL pass draws fewer of the suites that cost most there (every step a round
    trip to a real server), to keep a fresh clone's `.ci/run` within its 15 minutes
    (docs/testing.md); `make stateful` and `make fuzz` run hundreds on both.
    """
    on_postgresql = bool(os.environ.get("ROLECALL_TEST_DATABASE_URL"))
    return int(os.environ.get(variable) or (postgresql if on_postgresql else sqlite))


USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, leave out the `one_backend` tests: the SQLite pass of `make test` ran them."""
    if not os.environ.get("ROLECALL_TEST_DATABASE_URL"):
        return
    once = [item for item in items if item.get_closest_marker("one_backend")]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.get_closest_marker("one_backend")]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The test database: PostgreSQL when ROLECALL_TEST_DATABASE_URL is set, else a SQLite file."""
    url = os.environ.get("ROLECALL_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'rolecall.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def app(database_url):
    """The application, on a database migrated to head."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "PUBLIC_BASE_URL": "http://localhost",
            "SECRET_KEY": "tests-only-secret",
            # Read counts written at once, so that a test sees them (test_journal.py: later).
            "READ_COUNTS_FLUSH_SECONDS": 0,
        }
    )
    with app.app_context():
        upgrade_database()
    yield app
    with app.app_context():
        get_engine().dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request):
    """Leave every table empty after each test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context(), get_engine().begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


def fold_access_events(session, org_id: int) -> dict:
    """Fold an org's access events from the start: {(user, resource): (role, additive)}."""
    folded = {}
    for event in read_events(session, org_id, 0, 10_000_000):
        if not event.type.startswith("access."):
            continue
        key = (event.data["user_id"], event.data["resource_id"])
        folded[key] = (event.data["new_role"], tuple(event.data["new_additive"]))
        if folded[key] == (None, ()):
            del folded[key]
    return folded


def materialised_access(session, org_id: int) -> dict:
    """The org's effective_access rows as {(user, resource): (role, additive)}."""
    rows = session.scalars(select(EffectiveAccess).where(EffectiveAccess.organization_id == org_id))
    return {(r.user_id, r.resource_id): (r.role, tuple(r.additive)) for r in rows}


@dataclass
class Directory:
    """A directory made for a test, with a live bearer token."""

    id: int
    org_slug: str
    name: str
    token: str


def make_directory(app, org_slug="acme", name="okta", provider=Provider.OKTA) -> Directory:
    """Create an organization (if missing), a directory and a token; commit them."""
    with app.app_context():
        session = get_session()
        try:
            org = tenancy.get_organization(session, org_slug)
        except tenancy.NotFound:
            org = tenancy.create_organization(session, org_slug)
        operator = Context(session, load_catalog(), org)
        directory = tenancy.create_directory(operator, name, provider)
        _, token = tenancy.issue_token(operator, directory)
        session.commit()
        return Directory(directory.id, org_slug, name, token)


class ScimClient:
    """The test client with a directory's bearer token and SCIM content type."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, json=None, headers=None, **kwargs):
        """Send a request under /scim/v2."""
        all_headers = {**self.headers, **(headers or {})}
        if json is not None:
            kwargs["json"] = json
            all_headers.setdefault("Content-Type", SCIM_JSON)
        return self.client.open("/scim/v2" + path, method=method, headers=all_headers, **kwargs)

    def get(self, path, **kwargs):
        """GET under /scim/v2."""
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        """POST under /scim/v2."""
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        """PUT under /scim/v2."""
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path, operations, **kwargs):
        """PATCH under /scim/v2 with a PatchOp of these operations."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path, **kwargs):
        """DELETE under /scim/v2."""
        return self.request("DELETE", path, **kwargs)

    def create_user(self, user_name: str, **attributes) -> dict:
        """Create a user and return its representation."""
        response = self.post(
            "/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def create_group(self, display_name: str, members=(), **attributes) -> dict:
        """Create a group with these member ids and return its representation."""
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": display_name,
            "members": [{"value": member_id} for member_id in members],
            **attributes,
        }
        response = self.post("/Groups", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def member_ids(self, group_id: str) -> set[str]:
        """Return the member ids of a group, as GET shows them."""
        group = self.get(f"/Groups/{group_id}").get_json()
        return {member["value"] for member in group.get("members", [])}


@pytest.fixture
def directory(app) -> Directory:
    """An Okta directory of organization acme."""
    return make_directory(app)


@pytest.fixture
def scim(client, directory) -> ScimClient:
    """A SCIM client authenticated as the acme Okta directory."""
    return ScimClient(client, directory.token)


class World:
    """An organization with an Okta directory, its SCIM client and the CLI."""

    def __init__(self, app, client):
        self.app = app
        self.directory = make_directory(app, org_slug="acme", name="okta")
        self.scim = ScimClient(client, self.directory.token)
        self.runner = app.test_cli_runner()

    def run(self, *args):
        """Run `rolecall ARGS` and return the click result."""
        return self.runner.invoke(cli, list(args), catch_exceptions=False)

    def ok(self, *args):
        """Run a command that must succeed; return its output."""
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.output

    def check(self, user, permission, resource) -> bool:
        """Return check's verdict, after asserting its exit code matches its JSON."""
        result = self.run("check", "--org", "acme", "--json", user, permission, resource)
        assert result.exit_code in (0, 1), result.output
        assert json.loads(result.output)["allowed"] == (result.exit_code == 0)
        return result.exit_code == 0

    def explain(self, user, resource) -> dict:
        """Return explain's JSON."""
        return json.loads(self.ok("explain", "--org", "acme", "--json", user, resource))

    def user(self, name, **attributes) -> str:
        """Provision a user over SCIM; return its id."""
        return self.scim.create_user(name, **attributes)["id"]

    def group(self, name, *member_ids) -> str:
        """Provision a group over SCIM; return its id."""
        return self.scim.create_group(name, list(member_ids))["id"]

    def remove_member(self, group_id, user_id):
        """Remove one member by SCIM PATCH."""
        response = self.scim.patch(
            f"/Groups/{group_id}", [{"op": "remove", "path": f'members[value eq "{user_id}"]'}]
        )
        assert response.status_code == 204

    def set_active(self, user_id, active: bool):
        """Deactivate or reactivate a user by SCIM PATCH (Okta's form)."""
        response = self.scim.patch(
            f"/Users/{user_id}", [{"op": "replace", "value": {"active": active}}]
        )
        assert response.status_code == 200

    def verify_clean(self):
        """Assert that materialised access equals a recomputation from the base tables."""
        result = self.run("verify", "--org", "acme")
        assert result.exit_code == 0, result.output

    def events(self, kind_prefix=""):
        """Return the organization's events of a kind."""
        with self.app.app_context():
            session = get_session()
            org = tenancy.get_organization(session, "acme")
            return [
                (e.type, e.data)
                for e in read_events(session, org.id, 0, 10_000)
                if e.type.startswith(kind_prefix)
            ]


@pytest.fixture
def world(app, client):
    """A fresh organization with one project (web) holding an agent (bot) and a tool (search)."""
    w = World(app, client)
    w.ok("project", "create", "--org", "acme", "web")
    w.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "agent", "bot")
    w.ok("asset", "create", "--org", "acme", "--project", "web", "--kind", "tool", "search")
    return w


# -- /api/v1: a client with an organization's API key --------------------------------------


def api_key(app, org="acme", role=None) -> str:
    """Create an API key of an organization with the CLI; return its plaintext."""
    args = ["apikey", "create", "--org", org, "--name", "ci"]
    result = app.test_cli_runner().invoke(cli, args + (["--role", role] if role else []))
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


class Api:
    """The test client with an organization's API key, on /api/v1."""

    def __init__(self, client, key: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path, **query):
        """GET with query parameters; return the response."""
        return self.client.get("/api/v1" + path, query_string=query, headers=self.headers)

    def post(self, path, body=None, data=None, content_type="application/json"):
        """POST a JSON body (or raw data); return the response."""
        data = json.dumps(body) if data is None else data
        return self.client.post(
            "/api/v1" + path, data=data, content_type=content_type, headers=self.headers
        )

    def delete(self, path, **query):
        """DELETE with query parameters; return the response."""
        return self.client.delete("/api/v1" + path, query_string=query, headers=self.headers)

    def send(self, method, path, body=None, data=None, key=None):
        """Send a JSON body (or raw data) with any method, and an Idempotency-Key if given."""
        headers = {**self.headers, **({"Idempotency-Key": key} if key is not None else {})}
        return self.client.open(
            "/api/v1" + path,
            method=method,
            data=json.dumps(body) if data is None else data,
            content_type="application/json",
            headers=headers,
        )

    def check(self, user, permission, resource):
        """POST one check; return the response."""
        body = {"user": user, "permission": permission, "resource": resource}
        return self.post("/check", body)


def api_error(response, status: int) -> dict:
    """Assert an /api/v1 error of this status, in the error format; return its error object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.fixture
def acme(world, app, client) -> Api:
    """An admin key of acme (the `world` organization: project web, agent bot, tool search)."""
    return Api(client, api_key(app))


@pytest.fixture
def viewer(world, app, client) -> Api:
    """A viewer key of acme."""
    return Api(client, api_key(app, role="viewer"))


@pytest.fixture
def globex(app, client) -> Api:
    """An admin key of another organization, globex, with a directory of its own."""
    make_directory(app, org_slug="globex", name="entra")
    return Api(client, api_key(app, "globex"))


# -- /admin: accounts and a browser-like client ---------------------------------------------

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def create_admin(app, email="ada@example.com", org="acme", role=None, password=PASSWORD):
    """Run `rolecall admin create`; return its output."""
    args = ["admin", "create", "--org", org, "--email", email, "--password-stdin"]
    result = app.test_cli_runner().invoke(
        cli, args + (["--role", role] if role else []), input=password + "\n"
    )
    assert result.exit_code == 0, result.output
    return result.output


class Browser:
    """The test client as a browser: it keeps cookies and sends each form's CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, path, **kwargs):
        """GET a page, remembering the CSRF token of its forms."""
        response = self.client.get(path, **kwargs)
        if match := _CSRF.search(response.get_data(as_text=True)):
            self.token = match.group(1) or match.group(2)
        return response

    def post(self, path, data=None, csrf=True):
        """POST a form (with the last page's CSRF token unless told not to)."""
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token
        return self.client.post(path, data=data)

    def log_in(self, email="ada@example.com", password=PASSWORD):
        """Log in through the form; return the answer."""
        self.get("/admin/login")
        return self.post("/admin/login", {"email": email, "password": password})


def table_rows(page: str, table: str) -> list[str]:
    """The text of each row of a table of the page, tags stripped."""
    body = re.search(rf'<table id="{table}"[^>]*>.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


@pytest.fixture
def admin(world, app, client):
    """A browser logged in as ada@example.com, Owner of acme (the `world` organization)."""
    create_admin(app)
    browser = Browser(client)
    assert browser.log_in().status_code == 303
    return browser
