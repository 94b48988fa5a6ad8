"""`rolecall user` and `group`: an organization's users and groups, local ones edited.

Local users and groups go through `rbac.admin.principals`, which refuses to edit IdP groups.
"""

import json

import click
from sqlalchemy import select

from app.cli.base import (
    LOOKUP,
    cli,
    commit_change,
    delete_confirmed,
    directory_option,
    lookup_group,
    org_command,
    say,
    yes_option,
)
from rbac import lookups, queries
from rbac.admin import principals
from rbac.models import Directory


@cli.group("user")
def user_group():
    """Users of an organization: list them, create local ones."""


@org_command(user_group, "create")
@click.option("--display-name")
@click.argument("user_name")
def user_create(ctx, display_name, user_name):
    """Create a local user (no IdP manages it); print its id."""
    user = commit_change(principals.create_local_user, ctx, user_name, display_name)
    say(f"local user {user.user_name!r} created: {user.id}")


@org_command(user_group, "list")
@directory_option
def user_list(ctx, directory):
    """List the organization's users (of one directory with --directory)."""
    names = dict(
        ctx.session.execute(
            select(Directory.id, Directory.name).where(Directory.organization_id == ctx.org.id)
        ).all()
    )
    say("id", "userName", "directory", "state")
    for user in lookups.list_users(ctx.session, ctx.org, directory):
        state = "active" if user.active else "inactive"
        say(user.id, user.user_name, names.get(user.directory_id, "-"), state)


@cli.group("group")
def group_group():
    """Groups of an organization: IdP groups (read-only) and local groups."""


@org_command(group_group, "create")
@click.option("--slug", required=True)
@click.option("--description")
@click.argument("name")
def group_create(ctx, slug, description, name):
    """Create a local group; print its id."""
    group = commit_change(principals.create_local_group, ctx, name, slug, description)
    say(f"local group {group.display_name!r} created: {group.id}")


@org_command(group_group, "rename")
@click.option("--description")
@click.argument("group")
@click.argument("name")
def group_rename(ctx, description, group, name):
    """Rename a local group (GROUP: its name, slug or id)."""
    commit_change(principals.rename_local_group, ctx, lookup_group(ctx, group), name, description)
    say(f"group renamed {name!r}")


@org_command(group_group, "delete")
@yes_option
@click.argument("group")
def group_delete(ctx, yes, group):
    """Delete a local group, after showing what its members will lose."""
    target = lookup_group(ctx, group)
    granted = queries.explain_group(ctx, target)
    for grant in granted["grants"]:
        say(f"revokes {grant['role']} on {grant['resource']} from its members")
    say(f"members: {', '.join(granted['members']) or 'none'}")
    what = f"group {target.display_name!r}"
    delete_confirmed(ctx, what, yes, principals.delete_local_group, target)


def _membership_command(name: str, operation, verb: str, members: str):
    """A command changing the members (users) or the nested groups of a local group."""

    @org_command(
        group_group, name, help=f"{verb.capitalize()} a local GROUP: {members} (names or ids)."
    )
    @directory_option
    @click.argument("group")
    @click.argument("member", nargs=-1, required=True)
    def command(ctx, directory, group, member):
        target = lookup_group(ctx, group)
        found = [LOOKUP[members](ctx, reference, directory) for reference in member]
        diffs = commit_change(operation, ctx, target, found)
        say(f"{len(found)} {members} {verb} {target.display_name!r}; {len(diffs)} access change(s)")

    return command


MEMBERSHIP_COMMANDS = {
    "add": (principals.add_members, "added to", "users"),
    "remove": (principals.remove_members, "removed from", "users"),
    "nest": (principals.add_members, "nested in", "groups"),
    "unnest": (principals.remove_members, "taken out of", "groups"),
}
for command_name, spec in MEMBERSHIP_COMMANDS.items():
    _membership_command(command_name, *spec)


@org_command(group_group, "list")
@directory_option
def group_list(ctx, directory):
    """List the organization's groups: local ones and each directory's."""
    say("id", "name", "source")
    for group in lookups.list_groups(ctx.session, ctx.org, directory):
        source = f"local:{group.slug}" if group.directory_id is None else "idp"
        say(group.id, group.display_name, source)


@org_command(group_group, "explain")
@directory_option
@click.option("--json", "as_json", is_flag=True)
@click.argument("group")
def group_explain(ctx, directory, as_json, group):
    """Everything a group grants (its own and its parents' roles) and to whom."""
    document = queries.explain_group(ctx, lookup_group(ctx, group, directory))
    if as_json:
        say(json.dumps(document))
        return
    source = "local" if document["local"] else "IdP"
    say(f"group {document['group']!r} ({source})")
    for grant in document["grants"]:
        through = f" (through {grant['through']!r})" if grant["through"] else ""
        say(f"  {grant['role']} on {grant['resource']}{through}")
    if not document["group_roles_enabled"]:
        say("  group roles are switched off for this organization: none of these apply")
    say(f"  members: {', '.join(document['members']) or 'none'}")
