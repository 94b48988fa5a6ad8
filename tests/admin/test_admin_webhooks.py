"""/admin webhooks: endpoints created (secret once), paused, replayed, deleted; dead letters."""

import re
from datetime import timedelta

from app import worker
from app.worker import outbound
from rbac import webhooks
from tests.conftest import make_directory, table_rows
from tests.webhook_receiver import Behaviour, receiving, verify
from tests.webhooks.test_webhooks import deliver, delivered_ids


def test_an_admin_creates_a_webhook_and_replays_a_dead_letter(world, app, admin):
    """The secret is shown once and verifies; a dead letter is replayed from its row."""
    settings = worker.WorkerSettings(
        delivery=webhooks.DeliveryPolicy(give_up_after=timedelta(0)),
        outbound=outbound.OutboundPolicy(timeout=2.0),
    )
    with receiving(Behaviour(script=[500])) as receiver:
        admin.get("/admin/webhooks")
        created = admin.post("/admin/webhooks", {"url": receiver.url, "events": "dsync.user.*"})
        assert created.status_code == 303
        page = created.headers["Location"]
        shown = admin.get(page).text
        assert re.search(r"Webhook (\d+) is created", shown).group(1) == page.rpartition("/")[2]
        secret = re.search(r'id="webhook-secret">([^<]+)<', shown).group(1)
        listing = admin.get("/admin/webhooks").text
        assert secret not in listing and receiver.url in listing
        assert secret not in admin.get(page).text
        world.user("alice")
        world.user("bob")
        deliver(app, receiver, lambda r: len(r.accepted()) == 1, settings)
        shown = admin.get(page).text
        dead = table_rows(shown, "dead-letters")
        assert len(dead) == 1 and "HTTP 500" in dead[0] and "Replay from here" in dead[0]
        event_id = int(dead[0].split()[0])
        replayed = admin.post(f"{page}/replay", {"from_event": str(event_id), "back": page})
        assert replayed.status_code == 303
        assert "(1 dead letter(s) among them)" in admin.get(page).text
        deliver(app, receiver, lambda r: len(r.accepted()) == 3, settings)
        assert delivered_ids(receiver)[1] == event_id
        assert all(verify(secret, request) for request in receiver.accepted())

        admin.post(f"{page}/disable", {"back": page})
        assert "paused" in admin.get(page).text
        bad = admin.post(f"{page}/replay", {"from_event": "0", "back": page})
        assert bad.status_code == 400 and "From event: Number must be between" in bad.text
        assert admin.post(f"{page}/delete").status_code == 303
        assert admin.get(page).status_code == 404


def test_bad_webhooks_are_said_and_other_orgs_are_404(world, app, admin):
    """A bad URL is flashed on the page; another org's endpoint is as missing as none."""
    admin.get("/admin/webhooks")
    bad = admin.post("/admin/webhooks", {"url": "ftp://x/", "back": "/admin/webhooks"})
    assert bad.status_code == 400
    assert "is not an http:// or https:// URL" in bad.text
    make_directory(app, org_slug="globex", name="entra")
    made = world.ok("webhook", "create", "--org", "globex", "--url", "https://hooks.example/")
    foreign = re.search(r"WEBHOOK_ID=(\d+)", made).group(1)
    assert admin.get(f"/admin/webhooks/{foreign}").status_code == 404
    assert admin.get("/admin/webhooks/999999").status_code == 404
    assert admin.post(f"/admin/webhooks/{foreign}/delete").status_code == 404
    assert "hooks.example" in world.ok("webhook", "list", "--org", "globex")


def test_an_admin_rotates_a_webhook_secret_with_an_overlap(world, app, admin):
    """The new secret is shown once; the page says both sign until the overlap ends."""
    admin.get("/admin/webhooks")
    page = admin.post("/admin/webhooks", {"url": "https://hooks.example/in"}).headers["Location"]
    first = re.search(r'id="webhook-secret">([^<]+)<', admin.get(page).text).group(1)
    rotated = admin.post(f"{page}/rotate-secret", {"overlap_hours": "6"})
    assert rotated.status_code == 303
    shown = admin.get(page).text
    second = re.search(r'id="webhook-secret">([^<]+)<', shown).group(1)
    assert second.startswith("whsec_") and second != first
    assert "The old one also signs for 6 hour(s)." in shown
    assert "its secret and the one a rotation replaced, until" in shown
    assert second not in admin.get(page).text  # shown once
    refused = admin.post(f"{page}/rotate-secret", {"overlap_hours": "9999"})
    assert refused.status_code == 400
