"""`rolecall project`, `asset`, `grant`, `revoke`, `assign`, `unassign`: the RBAC model.

Projects and assets go through `rbac.admin.resources`, direct grants and group assignments
through `rbac.admin.grants`.
"""

import click
from flask.cli import with_appcontext

from app.cli.base import (
    LOOKUP,
    cli,
    commit_change,
    directory_option,
    lookup_resource,
    lookup_user,
    org_context,
    org_option,
)
from rbac import listing
from rbac.admin import grants, resources
from rbac.context import Context
from rbac.evaluation import ResourceKind
from rbac.resources import ASSET_KINDS


@cli.group("project")
def project_group():
    """Projects of an organization."""


@project_group.command("create")
@org_option
@click.argument("project")
@with_appcontext
def project_create(org_slug, project):
    """Create a project, named by its slug."""
    commit_change(resources.create_project, org_context(org_slug), project)
    click.echo(f"project:{project} created")


@project_group.command("delete")
@org_option
@click.option("--yes", is_flag=True, help="delete without asking (the access lost is printed)")
@click.argument("project")
@with_appcontext
def project_delete(org_slug, yes, project):
    """Delete a project and its assets, after saying how many people lose access."""
    _delete_resource(org_context(org_slug), f"project:{project}", yes)


@cli.group("asset")
def asset_group():
    """Assets of a project: agents, tools, knowledge bases, workforces."""


@asset_group.command("create")
@org_option
@click.option("--project", required=True)
@click.option("--kind", type=click.Choice(ASSET_KINDS), required=True)
@click.option("--uses", default="", help="for a workforce: the agents it uses, comma-separated")
@click.option("--creator", help="USERNAME or id of the creator, who is granted the asset's admin")
@directory_option
@click.argument("asset")
@with_appcontext
def asset_create(org_slug, project, kind, uses, creator, directory, asset):
    """Create an asset in a project."""
    ctx = org_context(org_slug)
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
    click.echo(f"asset:{project}/{asset} created")


@asset_group.command("delete")
@org_option
@click.option("--project", required=True)
@click.option("--yes", is_flag=True, help="delete without asking (the access lost is printed)")
@click.argument("asset")
@with_appcontext
def asset_delete(org_slug, project, yes, asset):
    """Delete an asset, after saying how many people lose access."""
    _delete_resource(org_context(org_slug), f"asset:{project}/{asset}", yes)


def _delete_resource(ctx: Context, address: str, yes: bool) -> None:
    target = lookup_resource(ctx, address)
    people = listing.people_with_access(ctx.session, ctx.org, target)
    click.echo(f"revokes every role on {address} from {people} user(s)")
    if not yes:
        click.confirm(f"delete {address}?", abort=True)
    diffs = commit_change(resources.delete_resource, ctx, target)
    click.echo(f"{address} deleted; {len(diffs)} access change(s)")


def _role_command(name: str, operation, holder: str, verb: str):
    """A command giving or taking a role of a user (direct grant) or of a group (assignment)."""
    kind = "directly" if holder == "user" else "(every member inherits it)"

    @cli.command(
        name, help=f"A {holder} {verb} a role {kind} on RESOURCE (org, project:P, asset:P/A)."
    )
    @org_option
    @click.option(f"--{holder}", "reference", required=True, help=f"the {holder}'s name or id")
    @click.option("--role", required=True)
    @directory_option
    @click.argument("resource")
    @with_appcontext
    def command(org_slug, reference, role, directory, resource):
        ctx = org_context(org_slug)
        principal = LOOKUP[holder](ctx, reference, directory)
        target = lookup_resource(ctx, resource)
        changed = commit_change(operation, ctx, principal, role, target)
        who = principal.user_name if holder == "user" else f"group {principal.display_name!r}"
        click.echo(f"{who} {verb} {role.lower()} on {resource}" + ("" if changed else " (already)"))

    return command


for role_command in (
    ("grant", grants.grant_role, "user", "is granted"),
    ("revoke", grants.revoke_role, "user", "is no longer granted"),
    ("assign", grants.assign_group, "group", "holds"),
    ("unassign", grants.unassign_group, "group", "no longer holds"),
):
    _role_command(*role_command)
