"""`rolecall directory`, `token` and `journal`: a directory's switch, tokens and request journal."""

from datetime import timedelta

import click
from flask.cli import with_appcontext

from app.cli.base import (
    cli,
    commit_change,
    delete_confirmed,
    domain,
    format_duration,
    format_time,
    org_context,
    say,
    yes_option,
)
from rbac import tenancy
from rbac.context import Context
from rbac.db import utcnow
from rbac.journal import read_counts, recent_requests
from rbac.models import Directory
from web.db import get_session


def _directory(org_slug: str, directory_name: str) -> tuple[Context, Directory]:
    """The operator's context in the organization, and its directory of that name."""
    ctx = org_context(org_slug)
    return ctx, domain(tenancy.get_directory, ctx.session, ctx.org, directory_name)


@cli.group("directory")
def directory_group():
    """IdP directories of an organization."""


def _directory_switch(name: str, enabled: bool, doc: str):
    @directory_group.command(name, help=doc)
    @click.option("--org", "org_slug", required=True)
    @click.option("--directory", "directory_name", required=True)
    @with_appcontext
    def command(org_slug, directory_name):
        commit_change(tenancy.set_directory_enabled, *_directory(org_slug, directory_name), enabled)
        say(f"directory {directory_name!r} {name}d")

    return command


_directory_switch(
    "disable", False, "Pause provisioning: the directory's tokens get 403 until it is enabled."
)
_directory_switch("enable", True, "Resume provisioning of a disabled directory.")


@directory_group.command("delete")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@yes_option
@with_appcontext
def directory_delete(org_slug, directory_name, yes):
    """Delete a directory with its users, groups, tokens and journal (local ones stay)."""
    ctx, directory = _directory(org_slug, directory_name)
    users, groups = tenancy.directory_population(ctx.session, directory)
    say(
        f"deletes the {users} user(s) and {groups} group(s) of {directory_name!r}, and their access"
    )
    delete_confirmed(ctx, f"directory {directory_name!r}", yes, tenancy.delete_directory, directory)


@cli.group("token")
def token_group():
    """Bearer tokens of a directory."""


@token_group.command("create")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="default: never expires")
@with_appcontext
def token_create(org_slug, directory_name, expires_in_days):
    """Create a bearer token; it is printed once, on the last line."""
    ctx, directory = _directory(org_slug, directory_name)
    expires_at = tenancy.expiry_in(expires_in_days)
    token, plaintext = commit_change(tenancy.issue_token, ctx, directory, expires_at)
    say(f"token {token.id} created for directory {directory.name!r}; it is shown only once:")
    say(plaintext)


@token_group.command("list")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@with_appcontext
def token_list(org_slug, directory_name):
    """List a directory's tokens (never their secrets): last use, expiry and status.

    Status is active, `expiring in …` (live until its expiry, e.g. after a rotation), expired
    or revoked; times are UTC, `never` where there is none.
    """
    _, directory = _directory(org_slug, directory_name)
    say("id", "prefix", "created", "last_used", "expires", "status")
    now = utcnow()
    for token in tenancy.list_tokens(get_session(), directory):
        state = tenancy.token_state(token, now)
        status = state.value
        if state is tenancy.TokenState.EXPIRING:
            status += " in " + format_duration(token.expires_at - now)
        fields = [
            str(token.id),
            token.prefix + "…",
            format_time(token.created_at),
            format_time(token.last_used_at, none="never"),
            format_time(token.expires_at, none="never"),
            status,
        ]
        say(*fields)


@token_group.command("rotate")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.option(
    "--grace-hours",
    default=24,
    show_default=True,
    type=click.IntRange(min=0, max=tenancy.MAX_ROTATION_GRACE // timedelta(hours=1)),
    help="how long the other live tokens keep working; 0 ends them now",
)
@with_appcontext
def token_rotate(org_slug, directory_name, grace_hours):
    """Create a new token (printed once, on the last line); the others expire after the grace hours.

    A token that already expires sooner keeps its expiry; revoked and expired tokens stay so.
    """
    ctx, directory = _directory(org_slug, directory_name)
    token, plaintext, old = commit_change(
        tenancy.rotate_tokens, ctx, directory, timedelta(hours=grace_hours)
    )
    now = utcnow()
    for previous in old:
        remaining = previous.expires_at - now
        when = "now" if remaining <= timedelta(0) else "in " + format_duration(remaining)
        say(
            f"token {previous.id} ({previous.prefix}…) expires "
            f"{format_time(previous.expires_at)} ({when})"
        )
    if not old:
        say("no other live token to expire")
    say(f"token {token.id} created for directory {directory.name!r}; it is shown only once:")
    say(plaintext)


@token_group.command("revoke")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(org_slug, directory_name, token_id):
    """Revoke a token by its id (see `token list`)."""
    commit_change(tenancy.revoke_token, *_directory(org_slug, directory_name), token_id)
    say(f"token {token_id} revoked")


@cli.command("journal")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--errors", is_flag=True, help="only requests that failed (status 400 and up)")
@click.option(
    "--reads",
    is_flag=True,
    help="successful reads of the last hour instead, counted per minute and request",
)
@with_appcontext
def journal(org_slug, directory_name, limit, errors, reads):
    """Show a directory's newest SCIM requests, newest first (writes and failures)."""
    _, directory = _directory(org_slug, directory_name)
    if reads:
        say("minute", "request", "count", "mean_ms")
        since = utcnow() - timedelta(hours=1)
        for counted in read_counts(get_session(), directory.id, since)[:limit]:
            mean = counted.duration_ms / counted.count
            say(format_time(counted.minute), counted.route, counted.count, f"{mean:.1f}")
        return
    entries = recent_requests(get_session(), directory.id, limit, errors_only=errors)
    say("time", "status", "ms", "method", "path", "tolerances", "correlation_id", "detail")
    for entry in entries:
        fields = [
            format_time(entry.created_at),
            str(entry.status),
            f"{entry.duration_ms:.1f}",
            entry.method,
            entry.path,
            ",".join(entry.tolerances) or "-",
            entry.correlation_id,
            entry.error_detail or "-",
        ]
        # Lines are stored escaped; this also covers lines written before they were.
        say(*fields)
