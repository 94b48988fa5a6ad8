"""`rolecall user` and `group`: an organization's users and groups, local ones edited.

Local users and groups go through `rbac.admin.principals`, which refuses to edit IdP groups.
"""

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.cli.base import (
    LOOKUP,
    cli,
    commit_change,
    directory_option,
    lookup_group,
    org_context,
    org_option,
)
from rbac import lookups, queries
from rbac.admin import principals
from rbac.models import Directory


@cli.group("user")
def user_group():
    """Users of an organization: list them, create local ones."""


@user_group.command("create")
@org_option
@click.option("--display-name")
@click.argument("user_name")
@with_appcontext
def user_create(org_slug, display_name, user_name):
    """Create a local user (no IdP manages it); print its id."""
    user = commit_change(
        principals.create_local_user, org_context(org_slug), user_name, display_name
    )
    click.echo(f"local user {user.user_name!r} created: {user.id}")


def _listing(command_group, name: str):
    """A listing command of an organization, narrowed to one directory by --directory."""

    def register(function):
        return command_group.command(name)(org_option(directory_option(with_appcontext(function))))

    return register


@_listing(user_group, "list")
def user_list(org_slug, directory):
    """List the organization's users (of one directory with --directory)."""
    ctx = org_context(org_slug)
    names = dict(
        ctx.session.execute(
            select(Directory.id, Directory.name).where(Directory.organization_id == ctx.org.id)
        ).all()
    )
    click.echo("id\tuserName\tdirectory\tstate")
    for user in lookups.list_users(ctx.session, ctx.org, directory):
        state = "active" if user.active else "inactive"
        click.echo(f"{user.id}\t{user.user_name}\t{names.get(user.directory_id, '-')}\t{state}")


@cli.group("group")
def group_group():
    """Groups of an organization: IdP groups (read-only) and local groups."""


@group_group.command("create")
@org_option
@click.option("--slug", required=True)
@click.option("--description")
@click.argument("name")
@with_appcontext
def group_create(org_slug, slug, description, name):
    """Create a local group; print its id."""
    group = commit_change(
        principals.create_local_group, org_context(org_slug), name, slug, description
    )
    click.echo(f"local group {group.display_name!r} created: {group.id}")


@group_group.command("rename")
@org_option
@click.option("--description")
@click.argument("group")
@click.argument("name")
@with_appcontext
def group_rename(org_slug, description, group, name):
    """Rename a local group (GROUP: its name, slug or id)."""
    ctx = org_context(org_slug)
    commit_change(principals.rename_local_group, ctx, lookup_group(ctx, group), name, description)
    click.echo(f"group renamed {name!r}")


@group_group.command("delete")
@org_option
@click.option("--yes", is_flag=True, help="delete without asking (the access lost is printed)")
@click.argument("group")
@with_appcontext
def group_delete(org_slug, yes, group):
    """Delete a local group, after showing what its members will lose."""
    ctx = org_context(org_slug)
    target = lookup_group(ctx, group)
    granted = queries.explain_group(ctx, target)
    for grant in granted["grants"]:
        click.echo(f"revokes {grant['role']} on {grant['resource']} from its members")
    click.echo(f"members: {', '.join(granted['members']) or 'none'}")
    if not yes:
        click.confirm(f"delete group {target.display_name!r}?", abort=True)
    diffs = commit_change(principals.delete_local_group, ctx, target)
    click.echo(f"group {target.display_name!r} deleted; {len(diffs)} access change(s)")


def _membership_command(name: str, operation, verb: str, members: str):
    """A command changing the members (users) or the nested groups of a local group."""

    @group_group.command(name, help=f"{verb.capitalize()} a local GROUP: {members} (names or ids).")
    @org_option
    @directory_option
    @click.argument("group")
    @click.argument("member", nargs=-1, required=True)
    @with_appcontext
    def command(org_slug, directory, group, member):
        ctx = org_context(org_slug)
        target = lookup_group(ctx, group)
        found = [LOOKUP[members](ctx, reference, directory) for reference in member]
        diffs = commit_change(operation, ctx, target, found)
        click.echo(
            f"{len(found)} {members} {verb} {target.display_name!r}; {len(diffs)} access change(s)"
        )

    return command


MEMBERSHIP_COMMANDS = {
    "add": (principals.add_members, "added to", "users"),
    "remove": (principals.remove_members, "removed from", "users"),
    "nest": (principals.add_members, "nested in", "groups"),
    "unnest": (principals.remove_members, "taken out of", "groups"),
}
for command_name, spec in MEMBERSHIP_COMMANDS.items():
    _membership_command(command_name, *spec)


@_listing(group_group, "list")
def group_list(org_slug, directory):
    """List the organization's groups: local ones and each directory's."""
    ctx = org_context(org_slug)
    click.echo("id\tname\tsource")
    for group in lookups.list_groups(ctx.session, ctx.org, directory):
        source = f"local:{group.slug}" if group.directory_id is None else "idp"
        click.echo(f"{group.id}\t{group.display_name}\t{source}")


@group_group.command("explain")
@org_option
@directory_option
@click.option("--json", "as_json", is_flag=True)
@click.argument("group")
@with_appcontext
def group_explain(org_slug, directory, as_json, group):
    """Everything a group grants (its own and its parents' roles) and to whom."""
    ctx = org_context(org_slug)
    document = queries.explain_group(ctx, lookup_group(ctx, group, directory))
    if as_json:
        click.echo(json.dumps(document))
        return
    source = "local" if document["local"] else "IdP"
    click.echo(f"group {document['group']!r} ({source})")
    for grant in document["grants"]:
        through = f" (through {grant['through']!r})" if grant["through"] else ""
        click.echo(f"  {grant['role']} on {grant['resource']}{through}")
    if not document["group_roles_enabled"]:
        click.echo("  group roles are switched off for this organization: none of these apply")
    click.echo(f"  members: {', '.join(document['members']) or 'none'}")
