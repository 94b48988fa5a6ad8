"""/api/v1/webhooks: endpoints managed over HTTP as from the CLI, and their delivery state."""

from datetime import timedelta

from app import worker
from app.worker import outbound
from rbac import webhooks
from tests.conftest import api_error
from tests.webhook_receiver import Behaviour, receiving, verify
from tests.webhooks.test_webhooks import deliver, delivered_ids


def test_webhooks_are_created_read_changed_and_deleted(world, acme):
    """201 with the secret once; reads never show it; PATCH pauses; DELETE; then 404."""
    created = acme.post("/webhooks", {"url": "https://hooks.example/in", "events": ["access.*"]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["access.*"]
    assert (body["enabled"], body["backlog"], body["delivered"]) == (True, 0, 0)
    assert body["created_by"].startswith("apikey:")
    webhook = f"/webhooks/{body['id']}"
    listed = acme.get("/webhooks").get_json()["data"]
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in acme.get(webhook).get_json()
    paused = acme.send(
        "PATCH", webhook, {"enabled": False, "events": ["dsync.user.*", "access.revoked"]}
    )
    assert paused.status_code == 200
    assert paused.get_json()["enabled"] is False
    assert paused.get_json()["events"] == ["access.revoked", "dsync.user.*"]
    assert acme.delete(webhook).status_code == 204
    assert api_error(acme.get(webhook), 404)["code"] == "not_found"


def test_bad_webhooks_are_422_and_viewers_and_other_orgs_are_refused(world, acme, viewer, globex):
    """Bad URL or pattern: 422 per field; a viewer key: 403; another org's endpoint: 404."""
    for body in (
        {"url": "ftp://hooks.example/"},
        {"url": "https://hooks.example/", "events": ["access.**"]},
        {"url": "https://hooks.example/", "events": ["bogus.thing"]},
        {"url": "https://u:p@hooks.example/"},
        {"events": ["access.*"]},
    ):
        assert acme.post("/webhooks", body).status_code == 422, body
    assert acme.send("PATCH", "/webhooks/1", {}).status_code in (404, 422)
    assert viewer.post("/webhooks", {"url": "https://hooks.example/"}).status_code == 403
    mine = acme.post("/webhooks", {"url": "https://hooks.example/"}).get_json()["id"]
    for answer in (
        globex.get(f"/webhooks/{mine}"),
        globex.send("PATCH", f"/webhooks/{mine}", {"enabled": False}),
        globex.delete(f"/webhooks/{mine}"),
        globex.post(f"/webhooks/{mine}/replay", {"from": 1}),
        globex.get(f"/webhooks/{mine}/dead-letters"),
    ):
        assert api_error(answer, 404)["code"] == "not_found"
    assert acme.get(f"/webhooks/{mine}").get_json()["enabled"] is True
    assert acme.get("/webhooks/99999999999").status_code == 404


def test_dead_letters_are_listed_and_replayed(world, app, acme):
    """A dead letter shows over HTTP; POST replay sends it (and what followed) again."""
    settings = worker.WorkerSettings(
        delivery=webhooks.DeliveryPolicy(give_up_after=timedelta(0)),
        outbound=outbound.OutboundPolicy(timeout=2.0),
    )
    with receiving(Behaviour(script=[500])) as receiver:
        made = acme.post("/webhooks", {"url": receiver.url, "events": ["dsync.user.created"]})
        webhook, secret = f"/webhooks/{made.get_json()['id']}", made.get_json()["secret"]
        world.user("alice")
        world.user("bob")
        deliver(app, receiver, lambda r: len(r.accepted()) == 1, settings)
        dead = acme.get(f"{webhook}/dead-letters").get_json()["data"]
        assert [(d["attempts"], d["last_error"], d["replayed_at"]) for d in dead] == [
            (1, "HTTP 500", None)
        ]
        state = acme.get(webhook).get_json()
        assert (state["delivered"], state["dead"], state["backlog"]) == (1, 1, 0)
        replayed = acme.post(f"{webhook}/replay", {"from": dead[0]["event_id"]})
        assert replayed.status_code == 200 and replayed.get_json()["backlog"] > 0
        assert acme.get(f"{webhook}/dead-letters").get_json()["data"][0]["replayed_at"]
        deliver(app, receiver, lambda r: len(r.accepted()) == 3, settings)
        assert delivered_ids(receiver)[1] == dead[0]["event_id"]
        assert all(verify(secret, request) for request in receiver.accepted())
        assert api_error(acme.post(f"{webhook}/replay", {"from": 0}), 422)
