"""The OpenAPI 3 document of /api/v1 (flask-smorest, from the marshmallow schemas) and its page.

`GET /api/v1/openapi.json` and the reference page `GET /api/v1/docs` need no key. The page
is rendered on the server from the same document: the Redoc and Swagger UI pages of
flask-smorest load JavaScript from a CDN, which air-gapped installations cannot reach.
"""

from flask import Blueprint, Flask, current_app, render_template_string
from flask_smorest import Api

from app.api.schemas.common import ErrorOut

OPENAPI_EXTENSION = "rolecall.openapi"
SECURITY_SCHEME = "apiKey"

bp = Blueprint("api_reference", __name__, url_prefix="/api/v1")


class RolecallApi(Api):
    """flask-smorest's Api for documentation only: errors are app/api/boundary.py's."""

    ERROR_SCHEMA = ErrorOut

    def _register_error_handlers(self):
        # flask-smorest would register an app-wide HTTPException handler, answering for
        # /scim/v2 and /admin too; /api/v1 translates its errors itself (app/api/boundary.py).
        pass


def init_api(app: Flask, blueprint) -> None:
    """Register the API blueprint through flask-smorest (which documents it), and the pages."""
    api = RolecallApi(
        spec_kwargs={
            "title": "Rolecall API",
            "version": "1",
            "openapi_version": "3.0.3",
            "info": {
                "description": (
                    "The RBAC model over HTTP. Authenticate with `Authorization: Bearer rck_…` "
                    "(`rolecall apikey create`). Errors are "
                    '`{"error": {"code", "message", "details"}}`.'
                )
            },
            "servers": [{"url": "/"}],
            "security": [{SECURITY_SCHEME: []}],
        }
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "description": "an org API key"}
    )
    api.register_blueprint(blueprint)
    app.extensions[OPENAPI_EXTENSION] = api
    app.register_blueprint(bp)  # the document's own routes, outside the key check


def openapi_document() -> dict:
    """Return the current app's OpenAPI document."""
    return current_app.extensions[OPENAPI_EXTENSION].spec.to_dict()


@bp.get("/openapi.json")
def get_openapi():
    """Serve the OpenAPI 3 document of /api/v1."""
    return openapi_document()


@bp.get("/docs")
def get_reference():
    """Serve the reference page: every operation and schema of the OpenAPI document."""
    document = openapi_document()
    return render_template_string(
        _PAGE, doc=document, operations=_operations(document), type_of=_type_of
    )


_METHODS = ("get", "post", "put", "patch", "delete")


def _operations(document: dict) -> list[dict]:
    """Each operation of the document with its path's parameters and its responses resolved."""
    responses = document.get("components", {}).get("responses", {})
    operations = []
    for path, item in document["paths"].items():
        for method in (m for m in _METHODS if m in item):
            operation = item[method]
            answers = {}
            for status, answer in operation.get("responses", {}).items():
                if "$ref" in answer:
                    answer = responses.get(answer["$ref"].rsplit("/", 1)[-1], {})
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                answers[status] = (answer.get("description", ""), schema)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(
                {
                    "anchor": f"{method}-{path}",
                    "method": method,
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": item.get("parameters", []) + operation.get("parameters", []),
                    "body": body["schema"] if body else None,
                    "responses": dict(sorted(answers.items())),
                }
            )
    return operations


def _type_of(schema: dict | None) -> str:
    """Say a JSON schema in a few words: a link name, `array of X`, or its type."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_type_of(schema.get('items'))}"
    if "oneOf" in schema:
        return " or ".join(_type_of(option) for option in schema["oneOf"])
    words = schema.get("type", "any")
    if schema.get("format"):
        words += f" ({schema['format']})"
    if schema.get("nullable"):
        words += ", nullable"
    limits = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
    bounds = [f"{k} {schema[k]}" for k in limits if k in schema]
    return words + (f"; {', '.join(bounds)}" if bounds else "")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ doc.info.title }} {{ doc.info.version }}</title>
<link rel="stylesheet" href="{{ url_for('static', filename='reference.css') }}"></head><body>
<h1>{{ doc.info.title }} {{ doc.info.version }}</h1>
<p>{{ doc.info.description }}</p>
<p>This page is the OpenAPI {{ doc.openapi }} document of <code>GET /api/v1/openapi.json</code>,
which answers JSON to any client that does not ask for HTML.</p>
<h2>Operations</h2>
<ul>{% for op in operations %}
<li><a href="#{{ op.anchor }}"><span class="m">{{ op.method }}</span> <code>{{ op.path }}</code></a>
{{ op.summary }}</li>{% endfor %}</ul>
{% for op in operations %}
<h3 id="{{ op.anchor }}"><span class="m">{{ op.method }}</span> <code>{{ op.path }}</code></h3>
<p>{{ op.summary }}</p>{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<table>
<tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>
{% for p in op.parameters %}<tr><td class="t">{{ p.name }}</td><td>{{ p["in"] }}</td>
<td class="t">{{ type_of(p.schema) }}</td><td>{{ "yes" if p.required else "no" }}</td>
<td>{{ p.description or "" }}</td></tr>{% endfor %}</table>{% endif %}
{% if op.body %}<p>Body (JSON): <code>{{ type_of(op.body) }}</code></p>{% endif %}
<table><tr><th>status</th><th>answer</th></tr>
{% for status, (description, schema) in op.responses.items() %}<tr><td class="t">{{ status }}</td>
<td>{{ description }}{% if schema %}: <code>{{ type_of(schema) }}</code>{% endif %}</td></tr>
{% endfor %}</table>
{% endfor %}
<h2>Schemas</h2>
{% for name, schema in doc.components.schemas.items() %}
<h3 id="{{ name }}"><code>{{ name }}</code></h3>
<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>
{% for field, s in (schema.properties or {}).items() %}<tr><td class="t">{{ field }}</td>
<td class="t">{{ type_of(s) }}</td>
<td>{{ "yes" if field in (schema.required or []) else "no" }}</td>
<td>{{ s.description or "" }}</td></tr>{% endfor %}</table>
{% endfor %}
</body></html>
"""
