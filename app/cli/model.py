"""`rolecall project`, `asset`, `grant`, `revoke`, `assign`, `unassign`: the RBAC model.

Projects and assets go through `rbac.admin.resources`, direct grants and group assignments
through `rbac.admin.grants`.
"""

import click

from app.cli.base import (
    LOOKUP,
    cli,
    commit_change,
    delete_confirmed,
    directory_option,
    lookup_resource,
    lookup_user,
    org_command,
    say,
    yes_option,
)
from rbac import listing
from rbac.admin import grants, resources
from rbac.context import Context
from rbac.evaluation import ResourceKind
from rbac.resources import ASSET_KINDS


@cli.group("project")
def project_group():
    """Projects of an organization."""


@org_command(project_group, "create")
@click.argument("project")
def project_create(ctx, project):
    """Create a project, named by its slug."""
    commit_change(resources.create_project, ctx, project)
    say(f"project:{project} created")


@org_command(project_group, "delete")
@yes_option
@click.argument("project")
def project_delete(ctx, yes, project):
    """Delete a project and its assets, after saying how many people lose access."""
    _delete_resource(ctx, f"project:{project}", yes)


@cli.group("asset")
def asset_group():
    """Assets of a project: agents, tools, knowledge bases, workforces."""


@org_command(asset_group, "create")
@click.option("--project", required=True)
@click.option("--kind", type=click.Choice(ASSET_KINDS), required=True)
@click.option("--uses", default="", help="for a workforce: the agents it uses, comma-separated")
@click.option("--creator", help="USERNAME or id of the creator, who is granted the asset's admin")
@directory_option
@click.argument("asset")
def asset_create(ctx, project, kind, uses, creator, directory, asset):
    """Create an asset in a project."""
    project_resource = lookup_resource(ctx, f"project:{project}")
    agents = [
        lookup_resource(ctx, f"asset:{project}/{slug}") for slug in filter(None, uses.split(","))
    ]
    creator_user = lookup_user(ctx, creator, directory) if creator else None
    commit_change(
        resources.create_asset,
        ctx,
        project_resource,
        ResourceKind(kind),
        asset,
        creator=creator_user,
        uses=agents,
    )
    say(f"asset:{project}/{asset} created")


@org_command(asset_group, "delete")
@click.option("--project", required=True)
@yes_option
@click.argument("asset")
def asset_delete(ctx, project, yes, asset):
    """Delete an asset, after saying how many people lose access."""
    _delete_resource(ctx, f"asset:{project}/{asset}", yes)


def _delete_resource(ctx: Context, address: str, yes: bool) -> None:
    target = lookup_resource(ctx, address)
    people = listing.people_with_access(ctx.session, ctx.org, target)
    say(f"revokes every role on {address} from {people} user(s)")
    delete_confirmed(ctx, address, yes, resources.delete_resource, target)


def _role_command(name: str, operation, holder: str, verb: str):
    """A command giving or taking a role of a user (direct grant) or of a group (assignment)."""
    kind = "directly" if holder == "user" else "(every member inherits it)"

    @org_command(
        cli, name, help=f"A {holder} {verb} a role {kind} on RESOURCE (org, project:P, asset:P/A)."
    )
    @click.option(f"--{holder}", "reference", required=True, help=f"the {holder}'s name or id")
    @click.option("--role", required=True)
    @directory_option
    @click.argument("resource")
    def command(ctx, reference, role, directory, resource):
        principal = LOOKUP[holder](ctx, reference, directory)
        target = lookup_resource(ctx, resource)
        changed = commit_change(operation, ctx, principal, role, target)
        who = principal.user_name if holder == "user" else f"group {principal.display_name!r}"
        say(f"{who} {verb} {role.lower()} on {resource}" + ("" if changed else " (already)"))

    return command


for role_command in (
    ("grant", grants.give_role, "user", "is granted"),
    ("revoke", grants.take_role, "user", "is no longer granted"),
    ("assign", grants.give_role, "group", "holds"),
    ("unassign", grants.take_role, "group", "no longer holds"),
):
    _role_command(*role_command)
