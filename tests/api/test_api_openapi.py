"""The OpenAPI 3 document of /api/v1, served without a key, and its reference page."""

import json
import re

from app.api.reference import openapi_document
from app.cli import cli

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
SELF = {"/api/v1/openapi.json", "/api/v1/docs"}  # the document does not describe itself


def test_openapi_document_needs_no_key(client):
    """GET /api/v1/openapi.json answers an OpenAPI 3 document to anyone."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert {"CheckIn", "CheckOut", "ExplainOut", "ErrorOut"} <= set(
        document["components"]["schemas"]
    )


def test_every_api_route_is_in_the_document(app):
    """Every /api/v1 rule and method of app.url_map is a path and operation of the document."""
    with app.app_context():
        paths = openapi_document()["paths"]
    routes = [
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule not in SELF
        for method in rule.methods - SKIPPED_METHODS
    ]
    assert len(routes) >= 4
    missing = [route for route in routes if route[1] not in paths.get(route[0], {})]
    assert not missing
    documented = {(path, m) for path, item in paths.items() for m in item if m != "parameters"}
    assert documented == set(routes)  # and nothing that is not a route


def test_operations_describe_their_inputs_and_outputs(app):
    """Each operation has a summary, a success (its body's schema unless 204), and a 401."""
    with app.app_context():
        paths = openapi_document()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["summary"], (method, path)
            successes = sorted(code for code in operation["responses"] if code.startswith("2"))
            assert successes, (method, path)
            if successes[0] != "204":
                ok = operation["responses"][successes[0]]
                assert ok["content"]["application/json"]["schema"], (method, path)
            assert "401" in operation["responses"], (method, path)
    check = paths["/api/v1/check"]["post"]["requestBody"]["content"]["application/json"]
    assert check["schema"]["oneOf"][1]["maxItems"] == 100
    explain = {p["name"] for p in paths["/api/v1/explain"]["get"]["parameters"]}
    assert explain == {"user", "resource"}


def test_the_reference_page_lists_every_operation_and_schema(client):
    """GET /api/v1/docs (no key) is a server-rendered page of the whole document."""
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for operation in ("/api/v1/check", "/api/v1/explain", "/api/v1/events"):
        assert operation in page
    assert "/api/v1/groups/{group_id}/grants" in page
    assert 'id="CheckOut"' in page and "asset:PROJECT/ASSET" in page
    assert "<script" not in page  # nothing to fetch: it works air-gapped


def test_unknown_api_paths_and_methods_are_json_errors(client):
    """Routing errors under /api/v1 are JSON errors; SCIM keeps its own error documents."""
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong_method = client.delete("/api/v1/openapi.json")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]
    scim = client.get("/scim/v2/nothing-here")
    assert scim.status_code == 404 and scim.get_json()["status"] == "404"


def test_rolecall_openapi_print_is_the_served_document(app, client):
    """`rolecall openapi print` (README) prints the document GET /api/v1/openapi.json serves."""
    result = app.test_cli_runner().invoke(cli, ["openapi", "print"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == client.get("/api/v1/openapi.json").get_json()
