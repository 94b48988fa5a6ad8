"""Idempotency-Key on /api/v1 writes: a retry gets the first answer and writes nothing again."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from rbac.idempotency import RETENTION
from rbac.models import Event, Group, IdempotentRequest
from tests import servers
from tests.conftest import Api, api_error, api_key
from web.db import get_session


def _count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def test_a_retried_create_is_answered_from_the_first(world, app, acme):
    """Without a key a second create of a group is a 409; with the same key, the first 201."""
    group = {"name": "Ops", "slug": "ops"}
    first = acme.send("POST", "/groups", group, key="create-ops-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    events = _count(app, Event)
    retried = acme.send("POST", "/groups", group, key="create-ops-1")
    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.get_json() == first.get_json()
    assert _count(app, Event) == events
    assert api_error(acme.send("POST", "/groups", group), 409)["code"] == "conflict"


def test_the_same_key_with_another_request_is_422(world, app, acme):
    """A key names one request: another body or path under it is refused, and runs nothing."""
    assert acme.send("POST", "/groups", {"name": "A", "slug": "a"}, key="k").status_code == 201
    reused = api_error(acme.send("POST", "/groups", {"name": "B", "slug": "b"}, key="k"), 422)
    assert reused["code"] == "idempotency_key_reused"
    elsewhere = acme.send("POST", "/projects", {"slug": "b"}, key="k")
    assert api_error(elsewhere, 422)["code"] == "idempotency_key_reused"
    with app.app_context():
        slugs = get_session().scalars(select(Group.slug).where(Group.slug.is_not(None)))
        assert set(slugs) == {"a"}


def test_keys_belong_to_their_api_key(world, app, client, acme):
    """Another API key's request under the same Idempotency-Key is its own request."""
    other = Api(client, api_key(app))
    assert acme.send("POST", "/groups", {"name": "A", "slug": "a"}, key="k").status_code == 201
    taken = other.send("POST", "/groups", {"name": "A", "slug": "a"}, key="k")
    assert api_error(taken, 409)["code"] == "conflict"


def test_failures_are_not_kept(world, app, acme):
    """A refused write changed nothing: its retry, once the cause is gone, runs for real."""
    grant = {"user": "alice", "role": "admin", "resource": "project:web"}
    assert api_error(acme.send("POST", "/grants", grant, key="g"), 404)["code"] == "not_found"
    world.user("alice")
    created = acme.send("POST", "/grants", grant, key="g")
    assert created.status_code == 201 and "Idempotent-Replayed" not in created.headers
    assert _count(app, IdempotentRequest) == 1


def test_answers_are_kept_for_the_retention_period(world, app, acme):
    """After RETENTION a key is forgotten: the same request runs again (here: an existing 200)."""
    project = {"slug": "ops"}
    assert acme.send("POST", "/projects", project, key="p").status_code == 201
    with app.app_context():
        session = get_session()
        kept = session.scalars(select(IdempotentRequest)).one()
        kept.created_at -= RETENTION + timedelta(seconds=1)
        session.commit()
    again = acme.send("POST", "/projects", project, key="p")
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert _count(app, IdempotentRequest) == 1  # the expired answer was replaced


def test_deletes_and_patches_take_keys_too(world, app, acme):
    """Every write honours the header: a replayed 204 has no body."""
    assert acme.send("POST", "/groups", {"name": "A", "slug": "a"}).status_code == 201
    renamed = acme.send("PATCH", "/groups/a", {"name": "B"}, key="r")
    assert renamed.status_code == 200
    assert acme.send("PATCH", "/groups/a", {"name": "B"}, key="r").headers["Idempotent-Replayed"]
    deleted = acme.send("DELETE", "/groups/a", key="d")
    assert deleted.status_code == 204
    replayed = acme.send("DELETE", "/groups/a", key="d")
    assert replayed.status_code == 204 and replayed.get_data() == b""
    assert api_error(acme.send("DELETE", "/groups/a"), 404)["code"] == "not_found"


@pytest.mark.parametrize("key", ["", "a" * 256, "two words", "caf\u00e9"])
def test_malformed_keys_are_400(world, acme, key):
    """A key is 1 to 255 visible ASCII characters; anything else is refused before the write."""
    response = acme.send("POST", "/projects", {"slug": "ops"}, key=key.encode().decode("latin-1"))
    assert api_error(response, 400)["code"] == "invalid_idempotency_key"
    assert acme.get("/projects/ops").status_code == 404


def test_the_document_names_the_header_on_every_write(app):
    """Each write operation of the OpenAPI document lists the Idempotency-Key header."""
    from app.api.reference import openapi_document

    with app.app_context():
        paths = openapi_document()["paths"]
    writes = [
        (path, method, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method in {"post", "patch", "delete"} and path != "/api/v1/check"
    ]
    assert len(writes) >= 12
    for path, method, operation in writes:
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        assert "Idempotency-Key" in names, (method, path)
    assert "Idempotency-Key" not in json.dumps(paths["/api/v1/check"])


@pytest.mark.slow
def test_concurrent_retries_write_once(app, database_url, world):
    """8 copies of one create sent at once with one key: one group, one answer for all."""
    key = api_key(app)
    with servers.gunicorn(database_url, workers=2, threads=4) as (base, _):

        def send(_):
            with requests.Session() as http:
                return http.post(
                    f"{base}/api/v1/groups",
                    json={"name": "Ops", "slug": "ops"},
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "same"},
                    timeout=60,
                )

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(send, range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert len({response.text for response in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    with app.app_context():
        assert get_session().scalar(select(func.count()).where(Group.slug == "ops")) == 1
