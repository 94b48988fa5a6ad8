"""`rolecall apikey`, `org` and `admin`: an organization's API keys, settings and admin accounts."""

import sys

import click
from flask.cli import with_appcontext

from app.cli.base import (
    cli,
    commit_change,
    format_time,
    lookup_user,
    org_command,
    org_context,
    org_option,
    say,
)
from rbac import accounts, tenancy
from rbac.admin import settings
from rbac.db import utcnow


@cli.group("apikey")
def apikey_group():
    """Organization API keys for /api/v1."""


@org_command(apikey_group, "create")
@click.option("--name", default="api", show_default=True)
@click.option(
    "--role",
    type=click.Choice(["admin", "viewer", "checker"], case_sensitive=False),
    default="admin",
    show_default=True,
    help="a checker key asks check and explain only; a viewer also reads; an admin also writes",
)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="default: never expires")
def apikey_create(ctx, name, role, expires_in_days):
    """Create an API key acting with a role; it is printed once, on the last line."""
    expires_at = tenancy.expiry_in(expires_in_days)
    key, plaintext = commit_change(tenancy.issue_api_key, ctx, name, role, expires_at)
    say(
        f"API key {key.id} ({name!r}, {key.role.value}) created for {ctx.org.slug!r}; "
        "it is shown only once:"
    )
    say(plaintext)


@org_command(apikey_group, "list")
def apikey_list(ctx):
    """List an organization's API keys (never their secrets)."""
    keys = tenancy.list_api_keys(ctx.session, ctx.org)
    say("id", "name", "prefix", "role", "created", "last_used", "expires", "status")
    now = utcnow()
    for key in keys:
        expired = key.expires_at is not None and key.expires_at <= now
        status = "revoked" if key.revoked_at else "expired" if expired else "active"
        when = [format_time(key.created_at), format_time(key.last_used_at)]
        fields = [str(key.id), key.name, key.prefix + "…", key.role, *when]
        say(*fields, format_time(key.expires_at), status)


@org_command(apikey_group, "revoke")
@click.argument("key_id", type=int)
def apikey_revoke(ctx, key_id):
    """Revoke an API key by its id (see `apikey list`)."""
    commit_change(tenancy.revoke_api_key, ctx, key_id)
    say(f"API key {key_id} revoked")


@cli.group("org")
def org_group():
    """Organization settings."""


@org_command(org_group, "settings")
@click.option("--default-role", help="org role of every active user, or 'none'")
@click.option("--group-roles", type=click.Choice(["on", "off"]), help="use group-derived roles")
def org_settings(ctx, default_role, group_roles):
    """Show or change an organization's default role and group-roles switch."""
    if default_role is not None:
        role = None if default_role.lower() == "none" else default_role
        commit_change(settings.set_default_role, ctx, role)
    if group_roles is not None:
        commit_change(settings.set_group_roles_enabled, ctx, group_roles == "on")
    say(f"default_role={ctx.org.default_role or 'none'}")
    say(f"group_roles={'on' if ctx.org.group_roles_enabled else 'off'}")


@cli.group("admin")
def admin_group():
    """Admin accounts: users of an organization who log in to /admin with a password."""


@admin_group.command("create")
@org_option
@click.option("--email", required=True, help="the login; a user with this userName, or a new one")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
# Case-insensitive, as every ROLE of the scriptable interface is.
@click.option(
    "--role",
    type=click.Choice(["owner", "admin"], case_sensitive=False),
    default="owner",
    show_default=True,
)
@with_appcontext
def admin_create(org_slug, email, password_stdin, role):
    """Create an admin account (or set a new password): an org role and a password login."""
    password = sys.stdin.readline().rstrip("\r\n")
    user = commit_change(accounts.create_admin, org_context(org_slug), email, password, role)
    say(f"admin {user.user_name} of {org_slug} ({role}): log in at /admin/login")


@org_command(admin_group, "unlock")
@click.option("--email", required=True, help="the account's login")
def admin_unlock(ctx, email):
    """Unlock an admin account that failed sign-ins locked, and forget its email's attempts."""
    user = lookup_user(ctx, email)
    commit_change(accounts.unlock, ctx, user)
    say(f"admin {user.user_name} of {ctx.org.slug} may sign in again")
