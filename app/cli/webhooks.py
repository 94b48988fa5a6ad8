"""`rolecall webhook …` (endpoints of an organization) and `rolecall worker` (delivery).

The worker's settings come from options or the environment variables named in their help
(docs/deploy.md lists them all).
"""

import ipaddress
import signal
import threading
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from app import worker
from app.cli.base import cli, commit_change, domain, format_time, org_command, say
from app.worker.outbound import OutboundPolicy
from rbac import webhooks


@cli.group("webhook")
def webhook_group():
    """Webhook endpoints: signed deliveries of an organization's events."""


@org_command(webhook_group, "create")
@click.option("--url", required=True, help="http(s) URL that receives the POSTs")
@click.option(
    "--events",
    default="",
    help="comma-separated event types or families (access.*,dsync.user.*); default: all",
)
def webhook_create(ctx, url, events):
    """Add an endpoint; print WEBHOOK_ID= and, on the last line, its secret (shown once)."""
    endpoint, secret = commit_change(webhooks.create_endpoint, ctx, url, events.split(","))
    say(f"WEBHOOK_ID={endpoint.id}")
    say(f"WEBHOOK_SECRET={secret}")


@org_command(webhook_group, "rotate-secret")
@click.option(
    "--overlap-hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(0, 720),
    help="hours the old secret keeps signing beside the new one",
)
@click.argument("endpoint_id", type=int)
def webhook_rotate_secret(ctx, overlap_hours, endpoint_id):
    """Give an endpoint a new secret, printed on the last line; the old one signs for a while."""
    endpoint = domain(webhooks.get_endpoint, ctx.session, ctx.org.id, endpoint_id)
    overlap = timedelta(hours=overlap_hours)
    secret = commit_change(webhooks.rotate_secret, ctx, endpoint, overlap)
    say(f"webhook {endpoint_id}: the old secret also signs for {overlap_hours:g} hour(s)")
    say(f"WEBHOOK_SECRET={secret}")


@org_command(webhook_group, "list")
def webhook_list(ctx):
    """List the endpoints: URL, filter, state, cursor, backlog, counts and the last error."""
    columns = "id url events state cursor backlog delivered dead last_success last_error"
    say(*columns.split())
    for endpoint in webhooks.list_endpoints(ctx.session, ctx.org.id):
        fields = [
            str(endpoint.id),
            endpoint.url,
            ",".join(endpoint.event_types) or "*",
            _state(endpoint),
            str(endpoint.cursor),
            str(webhooks.backlog(ctx.session, endpoint)),
            str(endpoint.delivered),
            str(endpoint.dead),
            format_time(endpoint.last_success_at),
            endpoint.last_error or "-",
        ]
        say(*fields)


def _networks(value: str) -> tuple:
    """The networks of --allowed-networks (a bad one is a usage error, exit 2)."""
    try:
        return tuple(
            ipaddress.ip_network(n.strip(), strict=False) for n in value.split(",") if n.strip()
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--allowed-networks") from error


def _state(endpoint) -> str:
    if not endpoint.enabled:
        return "disabled"
    return f"retrying ({endpoint.attempts} failed)" if endpoint.attempts else "ok"


@org_command(webhook_group, "delete")
@click.argument("endpoint_id", type=int)
def webhook_delete(ctx, endpoint_id):
    """Delete an endpoint (nothing more is sent to it)."""
    endpoint = commit_change(webhooks.get_endpoint, ctx.session, ctx.org.id, endpoint_id)
    commit_change(webhooks.delete_endpoint, ctx, endpoint)
    say(f"webhook {endpoint_id} deleted")


@org_command(webhook_group, "replay")
@click.argument("endpoint_id", type=int)
@click.option("--from", "from_event", required=True, type=click.IntRange(min=1))
def webhook_replay(ctx, endpoint_id, from_event):
    """Deliver again, in order, every event from an id on (dead letters included)."""
    endpoint = commit_change(webhooks.get_endpoint, ctx.session, ctx.org.id, endpoint_id)
    revived = commit_change(webhooks.replay, ctx, endpoint, from_event)
    say(f"webhook {endpoint_id} replays from event {from_event} ({revived} dead letters)")


def _setting(name: str, default: float, kind: click.ParamType, envvar: str, help: str):
    """An option of the worker: its default shown, also read from an environment variable."""
    return click.option(
        name, default=default, show_default=True, type=kind, envvar=envvar, help=help
    )


@cli.command("worker")
@_setting(
    "--threads",
    4,
    click.IntRange(1, 64),
    "ROLECALL_WORKER_THREADS",
    "endpoints delivered to at once",
)
@_setting(
    "--poll",
    1.0,
    click.FloatRange(0.01, 60),
    "ROLECALL_WORKER_POLL",
    "seconds an idle thread waits to look again",
)
@_setting(
    "--timeout",
    10.0,
    click.FloatRange(0.1, 60),
    "ROLECALL_WEBHOOK_TIMEOUT",
    "seconds for one delivery, all included",
)
@_setting(
    "--retry-base",
    2.0,
    click.FloatRange(0.01),
    "ROLECALL_WEBHOOK_RETRY_BASE",
    "seconds before the first retry; doubles",
)
@_setting(
    "--retry-max",
    3600.0,
    click.FloatRange(0.01),
    "ROLECALL_WEBHOOK_RETRY_MAX",
    "longest wait between two attempts",
)
@_setting(
    "--give-up-after",
    259200.0,
    click.FloatRange(0),
    "ROLECALL_WEBHOOK_GIVE_UP_AFTER",
    "seconds of failing before an event becomes a dead letter",
)
@click.option(
    "--allow-link-local",
    is_flag=True,
    envvar="ROLECALL_WEBHOOK_ALLOW_LINK_LOCAL",
    help="deliver to link-local and metadata addresses too (refused by default)",
)
@click.option(
    "--allowed-networks",
    envvar="ROLECALL_WEBHOOK_ALLOWED_NETWORKS",
    default="",
    callback=lambda ctx, param, value: _networks(value),
    help="comma-separated CIDRs: deliver only to addresses in these (default: any allowed)",
)
@_setting(
    "--lease",
    60.0,
    click.FloatRange(1),
    "ROLECALL_WEBHOOK_LEASE",
    "seconds an endpoint stays a worker's (a dead worker's, too); >= 3 x timeout",
)
@with_appcontext
def worker_command(
    threads,
    poll,
    timeout,
    retry_base,
    retry_max,
    give_up_after,
    allow_link_local,
    allowed_networks,
    lease,
):
    """Deliver webhooks until stopped (SIGTERM or Ctrl-C end it after the current deliveries)."""
    if lease < 3 * timeout:
        # A lease outlives any delivery by far: no two workers send one event at once.
        raise click.BadParameter(
            f"at least 3 x --timeout ({3 * timeout:g} s)", param_hint="--lease"
        )
    settings = worker.WorkerSettings(
        threads=threads,
        poll_seconds=poll,
        delivery=webhooks.DeliveryPolicy(
            retry_base=timedelta(seconds=retry_base),
            retry_max=timedelta(seconds=retry_max),
            give_up_after=timedelta(seconds=give_up_after),
            lease=timedelta(seconds=lease),
        ),
        outbound=OutboundPolicy(
            timeout=timeout,
            allow_link_local=allow_link_local,
            allowed_networks=allowed_networks,
        ),
    )
    stop = threading.Event()
    for stopping in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stopping, lambda *_: stop.set())
    sessions = current_app.extensions["rolecall.sessionmaker"]
    say(f"worker delivering with {threads} thread(s); stop with SIGTERM or Ctrl-C")
    try:
        worker.run(sessions, settings, stop)
    except worker.AnotherWorkerRuns as error:
        raise click.ClickException(str(error)) from None
    say("worker stopped")
