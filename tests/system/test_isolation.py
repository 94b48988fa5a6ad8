"""Tenant isolation matrix: every route, method, credential and foreign id.

The routes come from `app.url_map`, so a new route joins the matrix by itself. Two
organizations hold two directories each; every directory is a caller in turn and names the
resources of its sibling directory (same organization), of a directory of the other
organization, and made-up ones. A foreign id must answer exactly as a made-up id does (no
existence oracle), no response may carry foreign data, and foreign rows must not change.
"""

import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import or_, select, update

from rbac import accounts, models, tenancy, webhooks
from rbac.admin import grants, resources
from rbac.context import Context
from rbac.db import utcnow
from rbac.evaluation import ResourceKind
from rbac.models import Provider
from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, ScimClient, make_directory
from web.db import get_catalog, get_engine, get_session

SCIM = "/scim/v2"
API = "/api/v1"
ADMIN = "/admin"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CONTENT_TYPES = {SCIM: "application/scim+json", API: "application/json"}

# Routes anyone may call, with the values of their variables.
PUBLIC_ROUTES = {
    "/healthz": {},
    # Readiness says nothing of any tenant; metrics are behind their own token (404 without).
    "/readyz": {},
    "/metrics": {},
    "/static/<path:filename>": {"filename": "missing.css"},
    "/api/v1/openapi.json": {},
    "/api/v1/docs": {},
    "/admin/login": {},
    # Picking one's organization follows a login that opened several; it names no tenant.
    "/admin/login/organization": {},
    # Logging out needs no session (it ends one, if any); it is not on the admin surface, so
    # that the matrix's admins stay logged in.
    "/admin/logout": {},
    # A one-time set-password link is its own credential; an unknown one says it no longer
    # works, the same to anyone (rbac.accounts: single use, 24 hours).
    "/admin/password/<token>": {"token": "made-up-link"},
}
# URL variables that name a tenant's resource, and the Refs field that fills them.
TENANT_VARIABLES = {
    "user_id": "user_id",
    "group_id": "group_id",
    "project": "project",
    "asset": "asset",
    "grant_id": "grant_id",
    "assignment_id": "assignment_id",
    "directory": "directory",
    "token_id": "token_id",
    "member_id": "user_id",
    "key_id": "api_key_id",
    "webhook_id": "webhook_id",
}
VOLATILE_KEYS = {"id", "meta", "created_at"}
# URL variables that name something every tenant shares.
SHARED_VARIABLES = {"resource_type_id": "User", "schema_id": USER_SCHEMA}
# Today: 26 (route, method) pairs under /scim/v2, 49 under /api/v1, 54 under /admin. Fewer: the
# enumeration lost routes, not that the app has fewer.
MIN_SCIM_PAIRS = 26
MIN_API_PAIRS = 49
MIN_ADMIN_PAIRS = 54
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Response headers whose values change from one request to the next.
VOLATILE_HEADERS = {"X-Request-Id", "Content-Length", "ETag", "Location", "Date"}


@dataclass(frozen=True)
class Refs:
    """What a request can name of one directory: a user and a group, by id and attributes."""

    tag: str
    user_id: str
    user_name: str
    user_external_id: str
    user_display_name: str
    email: str
    group_id: str
    group_name: str
    group_external_id: str
    project: str
    asset: str
    grant_id: str
    assignment_id: str
    directory: str
    token_id: str
    api_key_id: str
    webhook_id: str


def _attributes(tag: str) -> dict:
    """The attributes of a directory's first user and group: every string carries the tag."""
    return {
        "tag": tag,
        "user_name": f"ada.{tag}@example.com",
        "user_external_id": f"ext-ada-{tag}",
        "user_display_name": f"Ada {tag}",
        "email": f"ada.{tag}@mail.example",
        "group_name": f"Engineering {tag}",
        "group_external_id": f"ext-eng-{tag}",
        "project": f"p-{tag}",
        "asset": f"a-{tag}",
    }


def _missing_refs() -> Refs:
    """Refs of nothing at all: random ids and names no directory holds."""
    tag = f"nobody{uuid.uuid4().hex[:8]}"
    return Refs(
        user_id=str(uuid.uuid4()),
        group_id=str(uuid.uuid4()),
        grant_id=str(random.randint(10**9, 2**31 - 1)),
        assignment_id=str(random.randint(10**9, 2**31 - 1)),
        directory=f"dir-{tag}",
        token_id=str(random.randint(10**9, 2**31 - 1)),
        api_key_id=str(random.randint(10**9, 2**31 - 1)),
        webhook_id=str(random.randint(10**9, 2**31 - 1)),
        **_attributes(tag),
    )


@dataclass
class Seeded:
    """One directory made for the matrix, with what it provisioned through SCIM."""

    org: str
    name: str
    provider: Provider
    directory_id: int
    organization_id: int
    token: str
    refs: Refs
    user_ids: list[str]
    group_ids: list[str]
    shared_user_id: str

    @property
    def label(self) -> str:
        return f"{self.org}/{self.name}"


@dataclass
class World:
    """Two organizations with two directories each, and an /api/v1 key per organization."""

    directories: list[Seeded]
    api_keys: dict[str, str]
    # Per organization, a logged-in Owner's session cookie and CSRF token (/admin).
    admins: dict[str, str]

    def directory(self, org: str, name: str) -> Seeded:
        return next(d for d in self.directories if (d.org, d.name) == (org, name))


SHARED_USER_NAME = "shared@example.com"
# Directory names differ across orgs too: /api/v1/directories/{directory} names one by name.
DIRECTORIES = [
    ("acme", "okta-acme", Provider.OKTA),
    ("acme", "entra-acme", Provider.ENTRA),
    ("globex", "okta-globex", Provider.OKTA),
    ("globex", "entra-globex", Provider.ENTRA),
]


def _renumber(session, model, which) -> int:
    """Give the row `which` selects a random ten-digit id; return it."""
    new_id = random.randint(10**9, 2**31 - 1)
    session.execute(update(model).where(which).values(id=new_id))
    return new_id


def _seed(app, client, org: str, name: str, provider: Provider) -> Seeded:
    """Create a directory and provision, through SCIM, three users and two groups (one nested)."""
    made = make_directory(app, org_slug=org, name=name, provider=provider)
    scim = ScimClient(client, made.token)
    attributes = _attributes(f"{org}{name}")
    tag = attributes["tag"]
    ada = scim.create_user(
        attributes["user_name"],
        externalId=attributes["user_external_id"],
        displayName=attributes["user_display_name"],
        emails=[{"value": attributes["email"], "type": "work", "primary": True}],
    )
    bob = scim.create_user(
        f"bob.{tag}@example.com",
        externalId=f"ext-bob-{tag}",
        displayName=f"Bob {tag}",
        emails=[{"value": f"bob.{tag}@mail.example", "type": "work"}],
    )
    # The same userName in every directory: a filter on it must find the caller's only.
    shared = scim.create_user(
        SHARED_USER_NAME, externalId=f"ext-shared-{tag}", displayName=f"Shared {tag}"
    )
    engineering = scim.create_group(
        attributes["group_name"],
        [ada["id"], bob["id"]],
        externalId=attributes["group_external_id"],
    )
    sales = scim.create_group(
        f"Sales {tag}", [shared["id"], engineering["id"]], externalId=f"ext-sales-{tag}"
    )
    with app.app_context():
        session = get_session()
        directory = session.get(models.Directory, made.id)
        organization_id = directory.organization_id
        # What /api/v1 names: a project, an asset, a grant and an assignment per directory.
        ctx = Context(session, get_catalog(), directory.organization)
        project = resources.create_project(ctx, attributes["project"])
        resources.create_asset(ctx, project, ResourceKind.AGENT, attributes["asset"])
        grants.give_role(ctx, session.get(models.User, ada["id"]), "viewer", project)
        grants.give_role(ctx, session.get(models.Group, engineering["id"]), "viewer", project)
        session.commit()
        # Small serial ids ("3") would match inside any other text of an answer: renumber the
        # rows to ten random digits, so that the matrix can tell where an answer names them.
        grant_id = _renumber(session, models.Grant, models.Grant.user_id == ada["id"])
        assignment_id = _renumber(
            session, models.GroupAssignment, models.GroupAssignment.group_id == engineering["id"]
        )
        token_id = _renumber(
            session, models.DirectoryToken, models.DirectoryToken.directory_id == made.id
        )
        key, _ = tenancy.issue_api_key(ctx, f"seed {tag}")
        api_key_id = _renumber(session, models.ApiKey, models.ApiKey.id == key.id)
        endpoint, _ = webhooks.create_endpoint(ctx, f"https://hooks.example/{tag}")
        webhook_id = _renumber(
            session, models.WebhookEndpoint, models.WebhookEndpoint.id == endpoint.id
        )
        session.commit()
    return Seeded(
        org=org,
        name=name,
        provider=provider,
        directory_id=made.id,
        organization_id=organization_id,
        token=made.token,
        refs=Refs(
            user_id=ada["id"],
            group_id=engineering["id"],
            grant_id=str(grant_id),
            assignment_id=str(assignment_id),
            directory=name,
            token_id=str(token_id),
            api_key_id=str(api_key_id),
            webhook_id=str(webhook_id),
            **attributes,
        ),
        user_ids=[ada["id"], bob["id"], shared["id"]],
        group_ids=[engineering["id"], sales["id"]],
        shared_user_id=shared["id"],
    )


@pytest.fixture
def world(app, client) -> World:
    """Two orgs of two directories, with users and groups made through SCIM, and API keys."""
    directories = [_seed(app, client, *spec) for spec in DIRECTORIES]
    api_keys = {}
    with app.app_context():
        session = get_session()
        for org in ("acme", "globex"):
            organization = tenancy.get_organization(session, org)
            ctx = Context(session, get_catalog(), organization)
            api_keys[org] = tenancy.issue_api_key(ctx, "isolation")[1]
            accounts.create_admin(ctx, f"admin@{org}.example", ADMIN_PASSWORD)
        session.commit()
    admins = {org: _admin_login(app, f"admin@{org}.example") for org in api_keys}
    return World(directories, api_keys, admins)


ADMIN_PASSWORD = "isolation matrix password"
_CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _admin_login(app, email: str) -> str:
    """Log an admin in through the form; return "cookie|csrf token" for the matrix to send."""
    browser = app.test_client()
    token = _CSRF_FIELD.search(browser.get("/admin/login").get_data(as_text=True)).group(1)
    answer = browser.post(
        "/admin/login", data={"email": email, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    page = browser.get("/admin/").get_data(as_text=True)  # stores the CSRF secret in the session
    cookie = browser.get_cookie("rolecall_admin", path="/admin").value
    return f"{cookie}|{_CSRF_FIELD.search(page).group(1)}"


# -- callers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Foreign:
    """What belongs to others: never in an answer, never changed by the caller."""

    directories: list[Seeded]
    organization_ids: set[int]

    @property
    def markers(self) -> set[str]:
        """Lowercased strings no answer may hold: every id and the tag in every attribute."""
        markers = set()
        for directory in self.directories:
            markers |= {directory.refs.tag, *directory.user_ids, *directory.group_ids}
        return {marker.lower() for marker in markers}

    @property
    def directory_ids(self) -> set[int]:
        return {d.directory_id for d in self.directories}

    @property
    def user_ids(self) -> set[str]:
        return {u for d in self.directories for u in d.user_ids}

    @property
    def group_ids(self) -> set[str]:
        return {g for d in self.directories for g in d.group_ids}


@dataclass
class Caller:
    """Who sends a request, what it owns, and what is foreign to it."""

    label: str
    surface: str
    authorization: str
    own: Refs
    own_user_ids: set[str]
    own_group_ids: set[str]
    shared_user_id: str | None
    # Case name → the Refs the request names; foreign cases first, "missing" last.
    cases: dict[str, Refs]
    foreign: Foreign


def _scim_caller(world: World, me: Seeded) -> Caller:
    """A directory's SCIM token: its sibling directory and the other org's are foreign."""
    others = [d for d in world.directories if d is not me]
    sibling = next(d for d in others if d.org == me.org)
    stranger = next(d for d in others if d.org != me.org and d.provider == me.provider)
    return Caller(
        label=f"{me.label} (SCIM token)",
        surface=SCIM,
        authorization=f"Bearer {me.token}",
        own=me.refs,
        own_user_ids=set(me.user_ids),
        own_group_ids=set(me.group_ids),
        shared_user_id=me.shared_user_id,
        cases={"sibling": sibling.refs, "other org": stranger.refs, "missing": _missing_refs()},
        foreign=Foreign(others, {d.organization_id for d in others if d.org != me.org}),
    )


def _admin_caller(world: World, org: str) -> Caller:
    """An org's logged-in Owner in /admin: every directory of the other org is foreign."""
    return replace(
        _api_caller(world, org),
        label=f"{org} (admin session)",
        surface=ADMIN,
        authorization=world.admins[org],
    )


def _api_caller(world: World, org: str) -> Caller:
    """An org's API key: every directory of the other org is foreign, its own are not."""
    mine = [d for d in world.directories if d.org == org]
    others = [d for d in world.directories if d.org != org]
    return Caller(
        label=f"{org} (API key)",
        surface=API,
        authorization=f"Bearer {world.api_keys[org]}",
        own=mine[0].refs,
        own_user_ids={u for d in mine for u in d.user_ids},
        own_group_ids={g for d in mine for g in d.group_ids},
        shared_user_id=None,
        cases={"other org": others[0].refs, "missing": _missing_refs()},
        foreign=Foreign(others, {d.organization_id for d in others}),
    )


# -- routes -------------------------------------------------------------------------------


def _surface(rule) -> str | None:
    """The authenticated surface a rule belongs to; None for public and unknown routes."""
    if rule.rule in PUBLIC_ROUTES:
        return None
    return next((s for s in (SCIM, API, ADMIN) if rule.rule.startswith(s + "/")), None)


METHOD_ORDER = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _pairs(app) -> list[tuple]:
    """Every (rule, method) the app answers, HEAD and OPTIONS aside: reads first, deletes last.

    So that a wrongly allowed write or delete cannot hide a wrongly allowed read behind it.
    """
    pairs = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - SKIPPED_METHODS
    ]

    def order(pair):
        rule, method = pair
        rank = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER) - 1
        return rank, rule.rule, method

    return sorted(pairs, key=order)


_VARIABLE = re.compile(r"<(?:[^:<>]+:)?(?P<name>[^<>]+)>")


def _url(rule, refs: Refs) -> str:
    """The rule's path with tenant variables naming refs' resources, shared ones fixed."""

    def value(match) -> str:
        name = match["name"]
        if name in TENANT_VARIABLES:
            return quote(getattr(refs, TENANT_VARIABLES[name]), safe="")
        if name in SHARED_VARIABLES:
            return quote(SHARED_VARIABLES[name], safe=":")
        return quote(PUBLIC_ROUTES.get(rule.rule, {})[name], safe="")

    return _VARIABLE.sub(value, rule.rule)


# -- bodies -------------------------------------------------------------------------------

Body = Callable[[Refs], dict | None]


def _user(r: Refs) -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": r.user_name,
        "externalId": r.user_external_id,
        "displayName": r.user_display_name,
        "emails": [{"value": r.email, "type": "work", "primary": True}],
        "active": False,
    }


def _group(members: Callable[[Refs], list]) -> Body:
    return lambda r: {
        "schemas": [GROUP_SCHEMA],
        "displayName": r.group_name,
        "externalId": r.group_external_id,
        **({"members": members(r)} if members(r) else {}),
    }


def _patch(*operations: Callable[[Refs], dict]) -> Body:
    return lambda r: {"schemas": [PATCH_SCHEMA], "Operations": [op(r) for op in operations]}


def _search(template: str) -> Body:
    return lambda r: {"schemas": [SEARCH_SCHEMA], "filter": template.format(**asdict(r))}


def _bulk(r: Refs) -> dict:
    return {
        "schemas": [BULK_SCHEMA],
        "Operations": [
            {"method": "DELETE", "path": f"/Users/{r.user_id}", "bulkId": "1"},
            {
                "method": "PATCH",
                "path": f"/Groups/{r.group_id}",
                "bulkId": "2",
                "data": _patch(lambda r: {"op": "remove", "path": "members"})(r),
            },
        ],
    }


USER_PATCHES: list[Body] = [
    _patch(lambda r: {"op": "replace", "path": "userName", "value": r.user_name}),
    # Okta deactivates by a path-less replace.
    _patch(lambda r: {"op": "replace", "value": {"active": False, "displayName": "Renamed"}}),
]
GROUP_PATCHES: list[Body] = [
    _patch(lambda r: {"op": "replace", "path": "displayName", "value": r.group_name}),
    _patch(lambda r: {"op": "add", "path": "members", "value": [{"value": r.user_id}]}),
    _patch(lambda r: {"op": "replace", "path": "members", "value": [{"value": r.group_id}]}),
    _patch(lambda r: {"op": "remove", "path": f'members[value eq "{r.user_id}"]'}),
    # Entra's path-less add of members.
    _patch(lambda r: {"op": "add", "value": {"members": [{"value": r.user_id}]}}),
]
USER_FILTERS = [
    'id eq "{user_id}"',
    'userName eq "{user_name}"',
    'externalId eq "{user_external_id}"',
    'displayName eq "{user_display_name}"',
    'emails.value eq "{email}"',
    'emails[type eq "work" and value eq "{email}"]',
    'userName co "{tag}"',
    'id eq "{user_id}" or userName eq "{user_name}"',
]
GROUP_FILTERS = [
    'id eq "{group_id}"',
    'displayName eq "{group_name}"',
    'externalId eq "{group_external_id}"',
    'members.value eq "{user_id}"',
    'members[value eq "{user_id}"]',
    'displayName co "{tag}"',
]
SCIM_BODIES: dict[tuple[str, str], list[Body]] = {
    ("Users", "POST"): [_user],
    ("Users", "PUT"): [_user],
    ("Users", "PATCH"): USER_PATCHES,
    ("Groups", "POST"): [
        _group(lambda r: [{"value": r.user_id}]),
        _group(lambda r: [{"value": r.group_id, "type": "Group"}]),
        _group(lambda r: []),
    ],
    ("Groups", "PUT"): [
        _group(lambda r: [{"value": r.user_id}]),
        _group(lambda r: [{"value": r.group_id, "type": "Group"}]),
    ],
    ("Groups", "PATCH"): GROUP_PATCHES,
    ("Bulk", "POST"): [_bulk],
    ("Users", ".search"): [_search('id eq "{user_id}"'), _search('userName eq "{user_name}"')],
    ("Groups", ".search"): [_search('id eq "{group_id}"'), _search('members.value eq "{user_id}"')],
    ("", ".search"): [_search('id eq "{user_id}"'), _search('id eq "{group_id}"')],
}
# /api/v1 write routes, by endpoint, as they are added (until then, an empty object).
API_BODIES: dict[str, list[Body]] = {
    "api.post_project": [lambda r: {"slug": r.project}],
    "api.post_asset": [lambda r: {"slug": r.asset, "kind": "agent", "creator": r.user_id}],
    "api.post_grant": [lambda r: {"user": r.user_id, "role": "viewer", "resource": "org"}],
    "api.post_assignment": [lambda r: {"group": r.group_id, "role": "viewer", "resource": "org"}],
    "api.create_local_user": [lambda r: {"user_name": f"{r.user_name}-local"}],
    "api.create_local_group": [lambda r: {"name": "Local", "slug": "local-x"}],
    "api.update_local_group": [lambda r: {"name": "Renamed"}, lambda r: {"description": "d"}],
    "api.add_members": [lambda r: {"users": [r.user_id]}, lambda r: {"groups": [r.group_id]}],
    "api.post_webhook": [lambda r: {"url": "https://hooks.example/matrix"}],
    "api.patch_webhook": [lambda r: {"enabled": True}],
    "api.replay_webhook": [lambda r: {"from": 1}],
    "api.check": [
        lambda r: {"user": r.user_id, "permission": "org.manage_users", "resource": "org"},
        lambda r: {"user": r.user_name, "permission": "project.view", "resource": "project:x"},
        lambda r: [{"user": r.user_id, "permission": "org.manage_users", "resource": "org"}],
    ],
}


# Forms of /admin that have fields (the others are buttons: only their CSRF token).
ADMIN_BODIES: dict[str, list[Body]] = {
    "admin.rotate_tokens": [lambda r: {"grace_hours": "1"}],
    "admin.directories": [lambda r: {"name": "matrix", "provider": "generic"}],
    # Forms that make something answer 400 when empty: each gets a valid one.
    "admin.groups": [lambda r: {"name": "Matrix", "slug": "matrix"}],
    "admin.users": [lambda r: {"user_name": "matrix@example.com"}],
    "admin.projects": [lambda r: {"slug": "matrix"}],
    "admin.project": [lambda r: {"slug": "matrix", "kind": "agent"}],
    "admin.webhooks_page": [lambda r: {"url": "https://hooks.example/matrix"}],
    "admin.replay_webhook": [lambda r: {"from_event": "1"}],
}


def _bodies(surface: str, rule, method: str) -> list[Body]:
    """The plausible bodies of a request: SCIM resources, PatchOps, searches; none on reads."""
    if method in ("GET", "DELETE"):
        return [lambda r: None]
    if surface == ADMIN:
        return ADMIN_BODIES.get(rule.endpoint, [lambda r: None])
    if surface == API:
        return API_BODIES.get(rule.endpoint, [lambda r: {}])
    segments = rule.rule.removeprefix(SCIM).strip("/").split("/")
    if segments[-1] == ".search":
        return SCIM_BODIES[(segments[0] if len(segments) > 1 else "", ".search")]
    kind = "Users" if segments[0] == "Me" else segments[0]
    return SCIM_BODIES.get((kind, method), [_user])


def _conditional_headers(method: str) -> list[dict]:
    """Send each request on a named resource bare and with a precondition (304/412 paths)."""
    if method == "GET":
        return [{}, {"If-None-Match": "*"}]
    return [{}, {"If-Match": "*"}]


# -- sending and judging ------------------------------------------------------------------


@dataclass
class Matrix:
    """The test client, counting what it sends and collecting every problem it sees."""

    client: object
    sent: int = 0
    pairs: set = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def send(self, rule, method, url, *, authorization=None, body=None, headers=None, query=None):
        """Send one request; surface-appropriate Content-Type when there is a body."""
        all_headers = dict(headers or {})
        surface = _surface(rule)
        # A browser's credentials: the session cookie, and the CSRF token its forms carry.
        self.client.delete_cookie("rolecall_admin", path="/admin")
        if authorization is not None and surface == ADMIN:
            cookie, csrf = authorization.split("|")
            self.client.set_cookie("rolecall_admin", cookie, path="/admin")
            all_headers["X-CSRFToken"] = csrf
        elif authorization is not None:
            all_headers["Authorization"] = authorization
        data = None
        if body is not None and surface == ADMIN:
            data = body  # a form
        elif body is not None:
            data = json.dumps(body)
            all_headers["Content-Type"] = CONTENT_TYPES[surface or API]
        self.sent += 1
        self.pairs.add((rule.rule, method))
        return self.client.open(
            url, method=method, headers=all_headers, data=data, query_string=query
        )

    def problem(self, what: str, request: str, response) -> None:
        """Note a problem with the exact request and response."""
        text = response.get_data(as_text=True)[:400]
        self.problems.append(f"{what}\n    {request}\n    -> {response.status_code} {text}")

    def check_answer(self, request: str, response, markers: set[str], refs: Refs | None):
        """No server error, and no foreign id or tag in the body or any header.

        The values the request itself named (refs) are taken out first: echoing them back,
        say in "no user '<id>'", tells the caller nothing it did not send.
        """
        text = _replace_carried(_response_text(response), refs, request).lower()
        if found := sorted(marker for marker in markers if marker in text):
            self.problem(f"foreign data {found} in the answer", request, response)
        if response.status_code >= 500 and response.status_code != 501:
            self.problem("a server error", request, response)


def _response_text(response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers + "\n\n" + response.get_data(as_text=True)


def _carried(refs: Refs | None, request: str) -> list[tuple[str, str]]:
    """(placeholder, value) of every Refs value the request itself names, longest first."""
    if refs is None:
        return []
    values = {name: value for name, value in asdict(refs).items() if name != "tag"}
    carried = {name: value for name, value in values.items() if value in request}
    # The tag counts only where the request names it bare (a `co` filter), not inside a value.
    rest = request
    for value in sorted(values.values(), key=len, reverse=True):
        rest = rest.replace(value, "")
    if refs.tag in rest:
        carried["tag"] = refs.tag
    return sorted(((f"{{{k}}}", v) for k, v in carried.items()), key=lambda p: -len(p[1]))


def _replace_carried(text: str, refs: Refs | None, request: str) -> str:
    for placeholder, value in _carried(refs, request):
        text = re.sub(re.escape(value), placeholder, text, flags=re.IGNORECASE)
    return text


def _without_volatile(document):
    """A successful answer without what differs between two equal requests (ids, times)."""
    if isinstance(document, dict):
        return {k: _without_volatile(v) for k, v in document.items() if k not in VOLATILE_KEYS}
    if isinstance(document, list):
        return [_without_volatile(item) for item in document]
    return document


def _comparable(response, refs: Refs, request: str) -> tuple:
    """Status, body and header names of an answer, with the names the request carried replaced."""
    text = _replace_carried(response.get_data(as_text=True), refs, request)
    # A page's CSRF token is signed anew at each render: equal pages differ only there.
    text = _CSRF_FIELD.sub('name="csrf_token" value="(token)"', text)
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    if response.status_code < 300:
        body = _without_volatile(body)
    names = sorted(name for name, _ in response.headers.items() if name not in VOLATILE_HEADERS)
    values = {
        name: _replace_carried(response.headers[name], refs, request)
        for name in ("Content-Type", "WWW-Authenticate", "Allow")
        if name in response.headers
    }
    return response.status_code, body, names, values


def _describe(method: str, url: str, headers: dict | None, body, query=None) -> str:
    parts = [method, url]
    if query:
        parts[-1] += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    if headers:
        parts.append(json.dumps(headers))
    if body is not None:
        parts.append(json.dumps(body))
    return " ".join(parts)


def _delete_created(matrix: Matrix, caller: Caller, response) -> None:
    """Delete what a successful POST created, so that later answers only hold seeded data."""
    if response.status_code != 201 or "Location" not in response.headers:
        return
    path = urlsplit(response.headers["Location"]).path
    deleted = matrix.client.delete(path, headers={"Authorization": caller.authorization})
    matrix.sent += 1
    assert deleted.status_code == 204, (path, deleted.get_data(as_text=True))


# -- snapshots ----------------------------------------------------------------------------


def _snapshot(app, foreign: Foreign, *, journal: bool = True) -> dict[str, list]:
    """Every row that belongs to others (last-use times aside: authentication writes them)."""
    directories, orgs = foreign.directory_ids, foreign.organization_ids
    users, groups = foreign.user_ids, foreign.group_ids
    m = models
    statements = {
        "directories": select(m.Directory).where(m.Directory.id.in_(directories)),
        "users": select(m.User).where(
            or_(m.User.directory_id.in_(directories), m.User.id.in_(users))
        ),
        "user_emails": select(m.UserEmail).where(m.UserEmail.user_id.in_(users)),
        "groups": select(m.Group).where(
            or_(m.Group.directory_id.in_(directories), m.Group.id.in_(groups))
        ),
        "group_memberships": select(m.GroupMembership).where(
            or_(m.GroupMembership.group_id.in_(groups), m.GroupMembership.user_id.in_(users))
        ),
        "group_children": select(m.GroupChild).where(
            or_(m.GroupChild.group_id.in_(groups), m.GroupChild.child_group_id.in_(groups))
        ),
        "directory_tokens": select(m.DirectoryToken).where(
            m.DirectoryToken.directory_id.in_(directories)
        ),
        "organizations": select(m.Organization).where(m.Organization.id.in_(orgs)),
        "api_keys": select(m.ApiKey).where(m.ApiKey.organization_id.in_(orgs)),
        "webhook_endpoints": select(m.WebhookEndpoint).where(
            m.WebhookEndpoint.organization_id.in_(orgs)
        ),
        "effective_access": select(m.EffectiveAccess).where(
            or_(m.EffectiveAccess.organization_id.in_(orgs), m.EffectiveAccess.user_id.in_(users))
        ),
        "events": select(m.Event).where(m.Event.organization_id.in_(orgs)),
        "resources": select(m.Resource).where(m.Resource.organization_id.in_(orgs)),
        "grants": select(m.Grant).where(m.Grant.user_id.in_(users)),
        "group_assignments": select(m.GroupAssignment).where(
            m.GroupAssignment.group_id.in_(groups)
        ),
    }
    if journal:
        statements["request_journal"] = select(m.JournalEntry).where(
            m.JournalEntry.directory_id.in_(directories)
        )
    snapshot = {}
    with app.app_context(), get_engine().connect() as connection:
        for name, statement in statements.items():
            table = statement.get_final_froms()[0]
            columns = [c for c in table.columns if c.name != "last_used_at"]
            rows = connection.execute(statement.with_only_columns(*columns))
            snapshot[name] = sorted(tuple(map(repr, row)) for row in rows)
    return snapshot


def _compare_snapshots(matrix: Matrix, label: str, before: dict, after: dict) -> None:
    for table, rows in before.items():
        if after[table] != rows:
            gone = [row for row in rows if row not in after[table]][:3]
            new = [row for row in after[table] if row not in rows][:3]
            matrix.problems.append(f"{label}: foreign {table} changed: -{gone} +{new}")


# -- the tests ----------------------------------------------------------------------------


def test_every_route_is_in_the_matrix(app):
    """Every route is public or on a surface the matrix calls, with every variable resolvable."""
    pairs = _pairs(app)
    unknown, unresolved = [], []
    for rule, method in pairs:
        if rule.rule in PUBLIC_ROUTES:
            continue
        if _surface(rule) is None:
            # /admin views join here: the matrix needs an admin caller (login) to cover them.
            unknown.append(f"{method} {rule.rule}")
        known = TENANT_VARIABLES.keys() | SHARED_VARIABLES.keys()
        fixed = set(rule.defaults or ())  # values a rule sets itself, not the URL
        unresolved += [f"<{v}> in {rule.rule}" for v in sorted(rule.arguments - known - fixed)]
    assert not unknown, (
        f"routes on no surface the matrix can call: {unknown}; add their caller (for /admin, "
        "a logged-in admin of each org) to _surface and the tests below"
    )
    assert not unresolved, (
        f"URL variables the matrix cannot fill: {unresolved}; add each to TENANT_VARIABLES "
        "(with a Refs field and seeded resources) or to SHARED_VARIABLES"
    )
    by_surface = {s: sum(_surface(rule) == s for rule, _ in pairs) for s in (SCIM, API, ADMIN)}
    assert by_surface[SCIM] >= MIN_SCIM_PAIRS and by_surface[API] >= MIN_API_PAIRS, by_surface
    assert by_surface[ADMIN] >= MIN_ADMIN_PAIRS, by_surface
    print(f"\nisolation matrix: {by_surface} authenticated (route, method) pairs")


def test_bad_credentials_get_401_everywhere(app, client, world):
    """No, malformed, revoked, expired and wrong-kind credentials get 401 on every route."""
    acme_okta = world.directory("acme", "okta-acme")
    paused = world.directory("globex", "entra-globex")
    with app.app_context():
        session = get_session()
        directory = session.get(models.Directory, acme_okta.directory_id)
        acme = Context(session, get_catalog(), tenancy.get_organization(session, "acme"))
        revoked_token = tenancy.issue_token(acme, directory)
        tenancy.revoke_token(acme, directory, revoked_token[0].id)
        expired = tenancy.issue_token(acme, directory, expires_at=utcnow() - timedelta(hours=1))
        revoked_key = tenancy.issue_api_key(acme, "revoked")
        tenancy.revoke_api_key(acme, revoked_key[0].id)
        globex = Context(session, get_catalog(), tenancy.get_organization(session, "globex"))
        tenancy.set_directory_enabled(
            globex, session.get(models.Directory, paused.directory_id), False
        )
        session.commit()
    # Credentials that are missing or not a bearer token, then bearer tokens that are not live.
    # API keys do not expire, so /api/v1 has no expired case.
    unusable = {
        SCIM: {"none": None, "empty": "Bearer ", "basic": f"Basic {acme_okta.token}"},
        API: {"none": None, "empty": "Bearer ", "basic": f"Basic {world.api_keys['acme']}"},
    }
    not_live = {
        SCIM: {
            "garbage": "Bearer rcs_not-a-token",
            "revoked": f"Bearer {revoked_token[1]}",
            "expired": f"Bearer {expired[1]}",
            "API key": f"Bearer {world.api_keys['acme']}",
        },
        API: {
            "garbage": "Bearer rck_not-a-key",
            "revoked": f"Bearer {revoked_key[1]}",
            "SCIM token": f"Bearer {acme_okta.token}",
        },
    }
    # Without a live credential, everything is foreign, the token's own directory included.
    everyone = Foreign(world.directories, {d.organization_id for d in world.directories})
    matrix = Matrix(client)
    before = _snapshot(app, everyone, journal=False)
    for rule, method in _pairs(app):
        surface = _surface(rule)
        # The ids of the directory the tokens belong to: the resources most at risk.
        url = _url(rule, acme_okta.refs)
        body = _bodies(surface or API, rule, method)[0](acme_okta.refs)
        if surface in (None, ADMIN):
            # /admin's credential is a login session: without one, a page sends the browser to
            # the login form, and a form post is refused for want of its CSRF token.
            response = matrix.send(rule, method, url, body=body)
            request = _describe(method, url, None, body)
            matrix.check_answer(request, response, everyone.markers, acme_okta.refs)
            refused = response.status_code == 401 or (
                300 <= response.status_code < 400 and "login" in (response.location or "")
            )
            refused |= surface == ADMIN and method == "POST" and response.status_code == 400
            if rule.rule not in PUBLIC_ROUTES and not refused:
                matrix.problem("an unauthenticated request was not refused", request, response)
            continue
        answers = {}
        kinds = {**unusable[surface], **not_live[surface]}
        if surface == SCIM:
            kinds["paused directory"] = f"Bearer {paused.token}"
        for kind, authorization in kinds.items():
            response = matrix.send(rule, method, url, authorization=authorization, body=body)
            request = f"[{kind}] " + _describe(method, url, None, body)
            matrix.check_answer(request, response, everyone.markers, acme_okta.refs)
            expected = 403 if kind == "paused directory" else 401
            if response.status_code != expected:
                matrix.problem(f"expected {expected}", request, response)
            elif expected == 401 and not response.headers.get("WWW-Authenticate", "").startswith(
                "Bearer"
            ):
                matrix.problem("a 401 without a Bearer challenge", request, response)
            answers[kind] = _comparable(response, acme_okta.refs, request)
        # A revoked, expired or wrong-kind token answers as a made-up one: no token oracle.
        for kind in not_live[surface]:
            if answers[kind] != answers["garbage"]:
                matrix.problems.append(
                    f"{method} {url}: [{kind}] answers unlike a made-up token: "
                    f"{answers[kind]} != {answers['garbage']}"
                )
    _compare_snapshots(matrix, "bad credentials", before, _snapshot(app, everyone, journal=False))
    print(f"\nisolation matrix: {matrix.sent} requests with bad credentials")
    assert matrix.sent >= 8 * MIN_SCIM_PAIRS + 6 * MIN_API_PAIRS
    assert not matrix.problems, "\n".join(matrix.problems[:40])


def _check_logged_in(matrix: Matrix, caller: Caller, request: str, response) -> None:
    """An admin's request must be answered as theirs: a login redirect would prove nothing."""
    # A CSRF refusal is a 400 page of its own ("Form refused"); a form refused for its content
    # is a 400 too, but rendered on the admin's page: that one was answered as theirs.
    csrf_refused = response.status_code == 400 and "<title>Form refused" in response.text
    refused = response.status_code == 401 or csrf_refused or "login" in (response.location or "")
    if caller.surface == ADMIN and refused:
        matrix.problem("the admin's session or CSRF token was not accepted", request, response)


def _id_matrix(app, matrix: Matrix, caller: Caller) -> None:
    """Every route of the caller's surface, naming foreign, then made-up resources."""
    before = _snapshot(app, caller.foreign)
    other_refs = next(iter(caller.cases.values()))
    for rule, method in _pairs(app):
        if _surface(rule) != caller.surface:
            continue
        names_resources = bool(rule.arguments & TENANT_VARIABLES.keys())
        for make_body in _bodies(caller.surface, rule, method):
            body_names_resources = make_body(caller.own) != make_body(other_refs)
            if not names_resources and not body_names_resources:
                url, body = _url(rule, caller.own), make_body(caller.own)
                response = matrix.send(
                    rule, method, url, authorization=caller.authorization, body=body
                )
                request = _describe(method, url, None, body)
                matrix.check_answer(request, response, caller.foreign.markers, None)
                _check_logged_in(matrix, caller, request, response)
                _delete_created(matrix, caller, response)
                continue
            # (whose resource the URL names, extra headers): the foreign or made-up one, or,
            # when only the body names foreign resources, the caller's own.
            families = []
            if names_resources:
                families += [("case", extra) for extra in _conditional_headers(method)]
            if body_names_resources:
                families.append(("own", {}))
            for url_owner, extra in families:
                answers = {}
                for case, refs in caller.cases.items():
                    url = _url(rule, refs if url_owner == "case" else caller.own)
                    body = make_body(refs)
                    response = matrix.send(
                        rule,
                        method,
                        url,
                        authorization=caller.authorization,
                        body=body,
                        headers=extra,
                    )
                    request = _describe(method, url, extra, body)
                    matrix.check_answer(request, response, caller.foreign.markers, refs)
                    _check_logged_in(matrix, caller, request, response)
                    answers[case] = (request, _comparable(response, refs, request))
                    _delete_created(matrix, caller, response)
                missing_request, missing = answers["missing"]
                for case, (request, answer) in answers.items():
                    if answer != missing:
                        matrix.problems.append(
                            f"{caller.label}: a {case} resource answers unlike a missing one"
                            f"\n    {request}\n    -> {answer}"
                            f"\n    {missing_request}\n    -> {missing}"
                        )
    _compare_snapshots(matrix, caller.label, before, _snapshot(app, caller.foreign))


def test_foreign_ids_answer_like_missing_ones(app, client, world):
    """Sibling-directory and other-org ids answer as made-up ids, leak nothing, change nothing."""
    # Admins first: their pages list the whole org, and the API callers' creates leave local
    # users and groups named after other tenants (on purpose) that no API call deletes. API
    # keys next: they read their whole org's events, which must not yet hold the SCIM
    # callers' writes (renaming their own users with other tenants' names, on purpose).
    callers = [_admin_caller(world, org) for org in world.admins]
    callers += [_api_caller(world, org) for org in world.api_keys]
    callers += [_scim_caller(world, d) for d in world.directories]
    matrix = Matrix(client)
    for caller in callers:
        _id_matrix(app, matrix, caller)
    scim_pairs = {pair for pair in matrix.pairs if pair[0].startswith(SCIM)}
    admin_pairs = {pair for pair in matrix.pairs if pair[0].startswith(ADMIN)}
    api_pairs = matrix.pairs - scim_pairs - admin_pairs
    print(
        f"\nisolation matrix: {matrix.sent} requests by {len(callers)} callers over "
        f"{len(scim_pairs)} SCIM, {len(api_pairs)} API and {len(admin_pairs)} admin "
        "(route, method) pairs"
    )
    assert len(scim_pairs) >= MIN_SCIM_PAIRS and len(api_pairs) >= MIN_API_PAIRS
    assert len(admin_pairs) >= MIN_ADMIN_PAIRS
    assert not matrix.problems, "\n".join(matrix.problems[:40])


def _resource_kinds(body) -> set[str]:
    """The tenant resource types (User, Group) an answer lists."""
    kinds = set()
    for resource in (body or {}).get("Resources", []) if isinstance(body, dict) else []:
        schemas = resource.get("schemas", [])
        kinds |= {"User"} if USER_SCHEMA in schemas else set()
        kinds |= {"Group"} if GROUP_SCHEMA in schemas else set()
    return kinds


def _list(matrix: Matrix, caller: Caller, rule, method: str, filter_: str | None):
    """List or search with an optional filter: GET with a query, POST .search with a body."""
    if method == "GET":
        query = {"filter": filter_} if filter_ else None
        response = matrix.send(
            rule, method, rule.rule, authorization=caller.authorization, query=query
        )
        return response, _describe(method, rule.rule, None, None, query)
    body = {"schemas": [SEARCH_SCHEMA], **({"filter": filter_} if filter_ else {})}
    response = matrix.send(rule, method, rule.rule, authorization=caller.authorization, body=body)
    return response, _describe(method, rule.rule, None, body)


def test_filters_naming_foreign_resources_find_nothing(app, client, world):
    """Lists and searches count and return the caller's own only; foreign filters find nothing."""
    matrix = Matrix(client)
    listings = 0
    for caller in [_scim_caller(world, d) for d in world.directories]:
        for rule, method in _pairs(app):
            listable = (method == "GET" and not rule.arguments) or (
                method == "POST" and rule.rule.endswith("/.search")
            )
            if _surface(rule) != SCIM or not listable:
                continue
            response, request = _list(matrix, caller, rule, method, None)
            matrix.check_answer(request, response, caller.foreign.markers, None)
            kinds = _resource_kinds(response.get_json(silent=True))
            if not kinds:
                continue  # discovery, /Me: no tenant resources
            listings += 1
            own = (caller.own_user_ids if "User" in kinds else set()) | (
                caller.own_group_ids if "Group" in kinds else set()
            )
            body = response.get_json()
            listed = {resource["id"] for resource in body["Resources"]}
            if listed != own or body["totalResults"] != len(own):
                matrix.problem(f"lists other than its own {len(own)}", request, response)
            if "User" in kinds:
                response, request = _list(
                    matrix, caller, rule, method, f'userName eq "{SHARED_USER_NAME}"'
                )
                found = [r["id"] for r in response.get_json().get("Resources", [])]
                if found != [caller.shared_user_id]:
                    matrix.problem("a shared userName finds another's user", request, response)
            templates = (USER_FILTERS if "User" in kinds else []) + (
                GROUP_FILTERS if "Group" in kinds else []
            )
            for template in templates:
                answers = {}
                for case, refs in caller.cases.items():
                    filter_ = template.format(**asdict(refs))
                    response, request = _list(matrix, caller, rule, method, filter_)
                    matrix.check_answer(request, response, caller.foreign.markers, refs)
                    answers[case] = _comparable(response, refs, request)
                    body = response.get_json(silent=True) or {}
                    if response.status_code != 200 or body.get("totalResults") != 0:
                        matrix.problem(
                            f"{caller.label}: [{case}] finds something", request, response
                        )
                for case, answer in answers.items():
                    if answer != answers["missing"]:
                        matrix.problems.append(
                            f"{caller.label}: {method} {rule.rule} filter {template!r}: "
                            f"{case} answers unlike missing: {answer} != {answers['missing']}"
                        )
    print(f"\nisolation matrix: {matrix.sent} list and search requests over {listings} listings")
    assert listings >= 5 * len(world.directories)  # GET and .search of Users and Groups, /.search
    assert not matrix.problems, "\n".join(matrix.problems[:40])
