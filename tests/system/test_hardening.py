"""Issue 13's defects, each as the request that found it: a clear 4xx, never a 500, no change."""

import json
import socket
import time
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import text, update

from rbac.models import JournalEntry, Provider
from scim.input import MAX_FILTER_LENGTH, MAX_FILTER_TERMS, MAX_JSON_DEPTH, MAX_PATCH_OPERATIONS
from tests import servers
from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, SCIM_JSON, USER_SCHEMA, make_directory
from web.db import get_engine

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _raw(scim, method: str, path: str, body: str | dict):
    """Send a body as written, or a document as json.dumps writes it (lone surrogates escaped)."""
    data = body if isinstance(body, str) else json.dumps(body)
    return scim.request(method, path, data=data, headers={"Content-Type": SCIM_JSON})


def _assert_scim_error(response, status: int, scim_type: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    if scim_type:
        assert body["scimType"] == scim_type


def _snapshot(scim) -> tuple:
    """Everything a refused request must leave as it was."""
    users = scim.get("/Users", query_string={"count": 1000}).get_json()
    groups = scim.get("/Groups", query_string={"count": 1000}).get_json()
    return users["Resources"] if users["totalResults"] else [], groups.get("Resources", [])


# -- 1. lone UTF-16 surrogates --------------------------------------------------------------

SURROGATE_BODIES = [
    ("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "a\ud800"}),
    ("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "b", "title": "\udfff"}),
    ("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "c", "\ud800": 1}),
    ("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "\ud800"}),
]


@pytest.mark.parametrize(("method", "path", "body"), SURROGATE_BODIES)
def test_lone_surrogates_in_created_resources_are_400(scim, method, path, body):
    """A lone surrogate in any string of a body is 400 invalidValue, on both backends."""
    before = _snapshot(scim)
    _assert_scim_error(_raw(scim, method, path, body), 400, "invalidValue")
    assert _snapshot(scim) == before


def test_lone_surrogates_in_put_and_patch_are_400(scim):
    """PUT and PATCH of users and groups refuse lone surrogates and change nothing."""
    user = scim.create_user("alice")
    group = scim.create_group("Team", [user["id"]])
    before = _snapshot(scim)
    put_user = {"schemas": [USER_SCHEMA], "userName": "alice", "title": "x\ud800"}
    put_group = {"schemas": [GROUP_SCHEMA], "displayName": "T\udc00"}

    def patch(path):
        operation = {"op": "replace", "path": path, "value": "\ud800"}
        return {"schemas": [PATCH_SCHEMA], "Operations": [operation]}

    for method, path, body in [
        ("PUT", f"/Users/{user['id']}", put_user),
        ("PUT", f"/Groups/{group['id']}", put_group),
        ("PATCH", f"/Users/{user['id']}", patch("title")),
        ("PATCH", f"/Groups/{group['id']}", patch("displayName")),
    ]:
        _assert_scim_error(_raw(scim, method, path, body), 400, "invalidValue")
    assert _snapshot(scim) == before


@pytest.mark.parametrize(
    "scim_filter",
    ['title eq "\\ud800"', 'userName sw "\\udfff"', 'emails[value co "\\ud800"]'],
)
def test_lone_surrogates_in_filters_are_400_invalid_filter(scim, scim_filter):
    """A filter value decoding to a lone surrogate is 400 invalidFilter (GET and .search)."""
    scim.create_user("alice", title="Engineer")
    response = scim.get("/Users", query_string={"filter": scim_filter})
    _assert_scim_error(response, 400, "invalidFilter")
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})
    search = json.loads(body) | {"filter": scim_filter}
    _assert_scim_error(scim.post("/Users/.search", search), 400, "invalidFilter")


def test_lone_surrogate_in_a_member_filter_path_is_400(scim):
    """A PATCH path selecting members by a surrogate value is refused, the group unchanged."""
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("Team", [alice])
    # The path holds the six characters \ud800, which the filter parser decodes.
    path = 'members[value eq "\\ud800"]'
    response = scim.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": path}])
    _assert_scim_error(response, 400, "invalidFilter")
    assert scim.member_ids(group["id"]) == {alice}


def test_filters_and_sorting_on_document_attributes_keep_working(scim):
    """With surrogates refused at the edge, title filters and sortBy answer 200."""
    scim.create_user("alice", title="Engineer")
    refused = {"schemas": [USER_SCHEMA], "userName": "b", "title": "\ud800"}
    assert _raw(scim, "POST", "/Users", refused).status_code == 400
    assert scim.get("/Users", query_string={"filter": 'title eq "Engineer"'}).status_code == 200
    assert scim.get("/Users", query_string={"sortBy": "title"}).status_code == 200


# -- 2. deeply nested JSON ------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 100_000])
@pytest.mark.parametrize("kind", ["list", "object"])
def test_deeply_nested_json_is_400_invalid_syntax(scim, depth, kind):
    """A body nested past the bound is 400 invalidSyntax, at any depth, without recursion."""
    opening, closing = ("[", "]") if kind == "list" else ('{"a":', "}")
    nested = opening * depth + "1" + closing * depth
    body = f'{{"schemas": ["{USER_SCHEMA}"], "userName": "deep", "title": {nested}}}'
    _assert_scim_error(_raw(scim, "POST", "/Users", body), 400, "invalidSyntax")
    patch = f'{{"schemas": ["{PATCH_SCHEMA}"], "Operations": {nested}}}'
    user = scim.create_user("shallow")
    _assert_scim_error(_raw(scim, "PATCH", f"/Users/{user['id']}", patch), 400, "invalidSyntax")


def test_brackets_inside_strings_do_not_count_as_nesting(scim):
    """Depth is measured on the JSON structure: brackets and escaped quotes in strings are text."""
    title = '[[[[{{{{"\\' * 50
    body = {"schemas": [USER_SCHEMA], "userName": "brackets", "title": title}
    response = _raw(scim, "POST", "/Users", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["title"] == title


# -- 4. filter size and complexity, PATCH operation count -----------------------------------


@pytest.mark.parametrize("endpoint", ["/Users", "/Groups"])
def test_a_thousand_or_terms_is_a_clear_400(scim, endpoint):
    """~1 000 `or` terms: 400 invalidFilter naming the bound (SQLite answered 500)."""
    terms = " or ".join(f'externalId eq "{n}"' for n in range(1000))
    response = scim.get(endpoint, query_string={"filter": terms})
    _assert_scim_error(response, 400, "invalidFilter")
    assert "a filter has at most" in response.get_json()["detail"]
    short_terms = " or ".join(["id pr"] * (MAX_FILTER_TERMS + 1))
    response = scim.get(endpoint, query_string={"filter": short_terms})
    _assert_scim_error(response, 400, "invalidFilter")
    assert f"at most {MAX_FILTER_TERMS} comparisons" in response.get_json()["detail"]


def test_filters_within_the_bounds_are_answered(scim):
    """MAX_FILTER_TERMS terms is still a valid filter, on both backends."""
    user = scim.create_user("alice")
    terms = [f'externalId eq "{n}"' for n in range(MAX_FILTER_TERMS - 1)]
    query = " or ".join([*terms, 'userName eq "alice"'])
    assert len(query) <= MAX_FILTER_LENGTH
    response = scim.get("/Users", query_string={"filter": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [r["id"] for r in response.get_json()["Resources"]] == [user["id"]]


def test_an_over_long_filter_is_refused_before_parsing(scim):
    """A filter longer than MAX_FILTER_LENGTH is 400 invalidFilter, in GET and .search."""
    query = 'userName eq "' + "x" * MAX_FILTER_LENGTH + '"'
    _assert_scim_error(scim.get("/Users", query_string={"filter": query}), 400, "invalidFilter")
    _assert_scim_error(scim.post("/.search", {"filter": query}), 400, "invalidFilter")


def test_a_megabyte_member_filter_path_is_refused_quickly(scim):
    """A ~1 MiB PATCH whose members[...] path holds ~19 000 terms is a 400, group untouched."""
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("Team", [alice])
    path = "members[" + " or ".join(f'value eq "{n:036d}"' for n in range(19_000)) + "]"
    assert len(path) > 950_000  # with the PATCH around it, just under the 1 MiB body limit
    response = scim.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": path}])
    _assert_scim_error(response, 400, "invalidFilter")
    assert scim.member_ids(group["id"]) == {alice}


def test_member_filter_paths_over_the_term_bound_are_refused(scim):
    """A short path with more than MAX_FILTER_TERMS member terms is refused too."""
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("Team", [alice])
    path = "members[" + " or ".join(f'value eq "{n}"' for n in range(MAX_FILTER_TERMS + 1)) + "]"
    assert len(path) <= MAX_FILTER_LENGTH
    response = scim.patch(f"/Groups/{group['id']}", [{"op": "remove", "path": path}])
    _assert_scim_error(response, 400, "invalidFilter")
    assert scim.member_ids(group["id"]) == {alice}


def test_too_many_patch_operations_are_refused(scim):
    """A PATCH with more than MAX_PATCH_OPERATIONS operations is 400, nothing applied."""
    alice = scim.create_user("alice")["id"]
    group = scim.create_group("Team")
    operation = {"op": "add", "path": "members", "value": [{"value": alice}]}
    response = scim.patch(f"/Groups/{group['id']}", [operation] * (MAX_PATCH_OPERATIONS + 1))
    _assert_scim_error(response, 400, "invalidValue")
    assert scim.member_ids(group["id"]) == set()
    assert scim.patch(f"/Groups/{group['id']}", [operation] * 10).status_code == 204
    assert scim.member_ids(group["id"]) == {alice}


def test_entra_directory_has_the_same_bounds(app, client):
    """The Entra tolerance profile does not bypass the bounds."""
    from tests.conftest import ScimClient

    entra = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    body = {"schemas": [USER_SCHEMA], "userName": "x", "title": "\ud800"}
    _assert_scim_error(_raw(entra, "POST", "/Users", body), 400, "invalidValue")


# -- 3. bodies over the size limit, under real gunicorn -------------------------------------


@pytest.fixture
def live(app, database_url):
    """A real gunicorn (2 workers) and an Okta directory's token: (base URL, token)."""
    token = make_directory(app).token
    with servers.gunicorn(database_url, workers=2) as (base, _):
        yield base, token


def _send_raw(base: str, head: bytes, body_parts, pause: float = 1.0) -> bytes:
    """Send a request's head, wait (the server may answer early), send its body, read it all."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        time.sleep(pause)
        for part in body_parts:
            sock.sendall(part)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _head(token: str, extra: str) -> bytes:
    lines = [
        "POST /scim/v2/Users HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Content-Type: application/scim+json",
        extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.slow
@pytest.mark.parametrize("size", [1024 * 1024 + 1, 5 * 1024 * 1024])
def test_a_body_over_the_limit_gets_a_readable_413(live, size):
    """1 MB and 5 MB bodies: the client reads a 413 tooLarge instead of a broken pipe."""
    base, token = live
    answer = _send_raw(base, _head(token, f"Content-Length: {size}"), [b"x" * size])
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["scimType"] == "tooLarge"
    assert body["status"] == "413"


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_413_not_invalid_json(live):
    """A chunked body past the limit is 413 tooLarge (werkzeug cut it silently: 400 before)."""
    base, token = live
    chunk = b"x" * (256 * 1024)
    framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 6 + [b"0\r\n\r\n"]
    answer = _send_raw(base, _head(token, "Transfer-Encoding: chunked"), framed, pause=0.2)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    with requests.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.json()["totalResults"] == 0


# -- 7. absolute URLs: ROLECALL_PUBLIC_URL, never the request's Host ------------------------


def test_absolute_urls_come_from_the_public_url_not_the_host_header(app, client):
    """Host: evil.example changes no Location, meta.location, $ref or stored manager URL."""
    entra = make_directory(app, name="entra", provider=Provider.ENTRA)
    headers = {"Authorization": f"Bearer {entra.token}", "Host": "evil.example"}
    manager = client.post("/scim/v2/Users", json={"userName": "boss"}, headers=headers)
    assert manager.status_code == 201
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "jyoung",
        ENTERPRISE: {"manager": manager.get_json()["id"]},
    }
    response = client.post("/scim/v2/Users", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    public = "http://localhost/scim/v2/Users/"
    assert response.headers["Location"].startswith(public)
    user = response.get_json()
    assert user["meta"]["location"].startswith(public)
    assert user[ENTERPRISE]["manager"]["$ref"] == public + manager.get_json()["id"]
    group = client.post(
        "/scim/v2/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": user["id"]}]},
        headers=headers,
    ).get_json()
    assert group["members"][0]["$ref"] == public + user["id"]
    config = client.get("/scim/v2/ServiceProviderConfig", headers=headers).get_json()
    assert config["meta"]["location"].startswith("http://localhost/scim/v2/")
    assert "evil" not in _stored_text(app)


def test_without_a_public_url_no_stored_value_names_the_request_host(app, database_url):
    """With ROLECALL_PUBLIC_URL unset, answers may name the Host, stored data never does."""
    from app import create_app

    bare = create_app({"DATABASE_URL": database_url, "TESTING": True})
    assert bare.config["PUBLIC_BASE_URL"] is None
    try:
        _check_no_host_is_stored(bare)
    finally:
        with bare.app_context():
            get_engine().dispose()


def _check_no_host_is_stored(bare):
    entra = make_directory(bare, name="entra", provider=Provider.ENTRA)
    client = bare.test_client()
    headers = {"Authorization": f"Bearer {entra.token}", "Host": "evil.example"}
    boss = client.post("/scim/v2/Users", json={"userName": "boss"}, headers=headers).get_json()
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "u",
        ENTERPRISE: {"manager": boss["id"]},
    }
    response = client.post("/scim/v2/Users", json=body, headers=headers)
    assert response.status_code == 201
    assert "evil" not in _stored_text(bare)
    # A later reader on the real host sees its own host in the derived $ref.
    read = client.get(
        f"/scim/v2/Users/{response.get_json()['id']}",
        headers={"Authorization": headers["Authorization"], "Host": "scim.acme.test"},
    ).get_json()
    assert (
        read[ENTERPRISE]["manager"]["$ref"] == f"http://scim.acme.test/scim/v2/Users/{boss['id']}"
    )


def _stored_text(app) -> str:
    """Every stored user and group document, as text (the journal aside: it stores paths)."""
    with app.app_context(), get_engine().connect() as connection:
        rows = connection.execute(
            text("SELECT attributes FROM users UNION ALL SELECT attributes FROM groups")
        )
        return " ".join(str(row[0]) for row in rows)


# -- per-directory rate limit ---------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_per_directory(app, client, monkeypatch):
    """Past the limit a directory gets 429 + Retry-After; a sibling directory is unaffected."""
    from tests.conftest import ScimClient

    okta = ScimClient(client, make_directory(app).token)
    entra = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    monkeypatch.setitem(app.config, "SCIM_RATE_LIMIT_PER_MINUTE", 3)
    assert [okta.get("/Users").status_code for _ in range(3)] == [200, 200, 200]
    refused = okta.get("/Users")
    _assert_scim_error(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "limit 3" in refused.get_json()["detail"]
    # Refused requests do not count, so a client that honours Retry-After gets back in.
    assert okta.post("/Users", {"schemas": [USER_SCHEMA], "userName": "x"}).status_code == 429
    assert entra.get("/Users").status_code == 200
    monkeypatch.setitem(app.config, "SCIM_RATE_LIMIT_PER_MINUTE", 0)
    assert okta.get("/Users").status_code == 200
    assert okta.get("/Users").get_json()["totalResults"] == 0


def test_rate_limit_window_slides(app, client, directory, scim, monkeypatch):
    """Requests older than a minute no longer count."""
    monkeypatch.setitem(app.config, "SCIM_RATE_LIMIT_PER_MINUTE", 2)
    assert scim.get("/Users").status_code == 200
    assert scim.get("/Users").status_code == 200
    assert scim.get("/Users").status_code == 429
    with app.app_context(), get_engine().begin() as connection:
        # Through the column's type: Python 3.12 deprecates sqlite3's own datetime adapter.
        connection.execute(update(JournalEntry).values(created_at=datetime(2020, 1, 1, tzinfo=UTC)))
    assert scim.get("/Users").status_code == 200


# -- found by the fuzz test (tests/scim/test_fuzz.py) ---------------------------------------------


def test_an_entra_patch_operation_without_op_is_400(app, client):
    """Entra profile, an operation with a filtered path and no op: 400, not a KeyError."""
    from tests.conftest import ScimClient

    entra = ScimClient(client, make_directory(app, name="entra", provider=Provider.ENTRA).token)
    group = entra.create_group("Team")
    body = {"schemas": [PATCH_SCHEMA], "Operations": [{"path": "members[value pr]"}]}
    response = entra.request("PATCH", f"/Groups/{group['id']}", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "scim_filter",
    [
        'meta.lastModified gt "9999-12-31T23:59:59-14:00"',
        'meta.created lt "0001-01-01T00:00:00+14:00"',
        'meta.created co "2000"',
        'meta.lastModified sw "2026"',
    ],
)
@pytest.mark.parametrize("endpoint", ["/Users", "/Groups"])
def test_dates_out_of_range_and_substring_operators_on_dates_are_invalid_filters(
    scim, endpoint, scim_filter
):
    """A date UTC cannot hold, or co/sw/ew on a date: 400 invalidFilter, not a 500."""
    scim.create_user("alice")
    response = scim.get(endpoint, query_string={"filter": scim_filter})
    _assert_scim_error(response, 400, "invalidFilter")


def test_a_name_whose_casefolded_key_outgrows_its_column_is_400(scim):
    """200 x "İ" fits userName's 256 characters, but casefolds to 400: 400, not a 500."""
    for path, body in (
        ("/Users", {"schemas": [USER_SCHEMA], "userName": "İ" * 200}),
        ("/Users", {"schemas": [USER_SCHEMA], "userName": "u", "displayName": "İ" * 200}),
        ("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "İ" * 200}),
    ):
        _assert_scim_error(scim.post(path, body), 400, "invalidValue")
    assert scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "İ" * 128}).status_code == 201


def test_every_route_answers_with_the_security_headers(app, client):
    """Every route, whatever it answers (a page, JSON, SCIM, a 401, a 404), has the headers.

    Generated from the URL map, so that a new route is covered without anyone remembering it.
    """
    from web.security_headers import SECURITY_HEADERS

    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    assert len(rules) > 40
    for rule in rules:
        path = rule.build({name: "1" for name in rule.arguments}, append_unknown=False)[1]
        with client.get(path) as response:
            missing = {k for k, v in SECURITY_HEADERS.items() if response.headers.get(k) != v}
            assert not missing, (path, response.status_code, missing)


def test_the_api_reference_page_needs_no_inline_style(client):
    """/api/v1/docs renders under the CSP (no inline style or script), with its own sheet."""
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "<style" not in page.text and "<script" not in page.text
    with client.get("/static/reference.css") as stylesheet:
        assert stylesheet.status_code == 200 and b"font" in stylesheet.data
