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


def test_a_viewer_key_reads_webhook_urls_without_their_query(world, acme, viewer):
    """Capability tokens live in webhook URLs' queries: a viewer key never reads them."""
    url = "https://hooks.example/in?token=capability-secret"
    made = acme.post("/webhooks", {"url": url}).get_json()
    assert made["url"] == url and acme.get(f"/webhooks/{made['id']}").get_json()["url"] == url
    for answer in (viewer.get(f"/webhooks/{made['id']}"), viewer.get("/webhooks")):
        assert answer.status_code == 200
        assert "capability-secret" not in answer.get_data(as_text=True)
    assert viewer.get("/webhooks").get_json()["data"][0]["url"] == (
        "https://hooks.example/in?redacted"
    )


def test_endpoints_come_in_pages_and_an_organization_has_at_most_fifty(world, acme):
    """GET /webhooks pages by id; the 51st endpoint is a 409 and changes nothing."""
    ids = [
        acme.post("/webhooks", {"url": f"https://hooks.example/{n}"}).get_json()["id"]
        for n in range(webhooks.MAX_ENDPOINTS)
    ]
    refused = acme.post("/webhooks", {"url": "https://hooks.example/one-more"})
    assert api_error(refused, 409)["message"] == "an organization has at most 50 webhook endpoints"
    seen, cursor = [], 0
    while True:
        page = acme.get("/webhooks", after=cursor, limit=20).get_json()
        seen += [endpoint["id"] for endpoint in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ids
    assert acme.get("/webhooks", limit=0).status_code == 400


def test_a_backlog_is_counted_up_to_its_cap(world, acme, app, monkeypatch):
    """A far-behind endpoint's backlog reads as the cap, and its oldest event is the first one."""
    made = acme.post("/webhooks", {"url": "https://hooks.example/in"}).get_json()
    monkeypatch.setattr(webhooks, "BACKLOG_CAP", 3)
    for name in ("ann", "ben", "cid"):
        world.user(name)
    backlog = acme.get(f"/webhooks/{made['id']}").get_json()["backlog"]
    assert backlog == 3  # 3 users made 6 events (created, then granted the default role)
    monkeypatch.setattr(webhooks, "BACKLOG_CAP", 1000)
    assert acme.get(f"/webhooks/{made['id']}").get_json()["backlog"] == 6


def test_a_secret_is_rotated_over_http_with_an_overlap(world, acme, viewer):
    """POST …/rotate-secret answers the new secret once; a bad overlap is a 422; viewers 403."""
    made = acme.post("/webhooks", {"url": "https://hooks.example/in"}).get_json()
    path = f"/webhooks/{made['id']}/rotate-secret"
    rotated = acme.post(path, {"overlap_hours": 1})
    assert rotated.status_code == 200
    secret = rotated.get_json()["secret"]
    assert secret.startswith("whsec_") and secret != made["secret"]
    assert "secret" not in acme.get(f"/webhooks/{made['id']}").get_json()
    assert acme.post(path, {"overlap_hours": 721}).status_code == 422
    assert api_error(viewer.post(path, {}), 403)["code"] == "forbidden"
