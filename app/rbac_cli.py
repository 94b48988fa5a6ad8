"""`rolecall` commands of the RBAC model: resources, grants, principals, check, explain, verify.

The command line acts as the system principal (the operator, trusted: `rbac.context.SYSTEM`);
every command translates its arguments, calls one domain operation and commits. Domain
errors exit 2 (`app.cli.domain`); nothing else is caught.
"""

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.cli import cli, domain, format_time
from rbac import accounts, listing, lookups, queries, tenancy
from rbac.admin import grants, principals, resources, settings
from rbac.changes import active_owners
from rbac.context import Context
from rbac.evaluation import ResourceKind
from rbac.models import Directory, Organization
from rbac.resources import ASSET_KINDS, find_resource
from web.db import get_catalog, get_session


def _context(org_slug: str) -> Context:
    """The context of a command: the named organization, acted on by the system principal."""
    org = domain(tenancy.get_organization, get_session(), org_slug)
    return Context(get_session(), get_catalog(), org)


def _run(call, *args, **kwargs):
    """Run a domain operation; its errors exit 2, and success commits."""
    result = domain(call, *args, **kwargs)
    get_session().commit()
    return result


def _user(ctx: Context, reference: str, directory: str | None = None):
    return domain(lookups.find_user, ctx.session, ctx.org, reference, directory)


def _group(ctx: Context, reference: str, directory: str | None = None):
    return domain(lookups.find_group, ctx.session, ctx.org, reference, directory)


_FIND = {"user": _user, "users": _user, "group": _group, "groups": _group}


def _resource(ctx: Context, address: str):
    return domain(find_resource, ctx.session, ctx.org, address)


org_option = click.option("--org", "org_slug", required=True, help="organization slug")
directory_option = click.option(
    "--directory", help="the directory of the user or group, when a name is in several"
)


@cli.group("apikey")
def apikey_group():
    """Organization API keys for /api/v1."""


@apikey_group.command("create")
@org_option
@click.option("--name", default="api", show_default=True)
@click.option(
    "--role",
    type=click.Choice(["admin", "viewer"], case_sensitive=False),
    default="admin",
    show_default=True,
    help="a viewer key reads and checks; an admin key also writes",
)
@with_appcontext
def apikey_create(org_slug, name, role):
    """Create an API key acting with a role; it is printed once, on the last line."""
    ctx = _context(org_slug)
    key, plaintext = _run(tenancy.issue_api_key, ctx.session, ctx.org, name, role)
    click.echo(
        f"API key {key.id} ({name!r}, {key.role.value}) created for {ctx.org.slug!r}; "
        "it is shown only once:"
    )
    click.echo(plaintext)


@apikey_group.command("list")
@org_option
@with_appcontext
def apikey_list(org_slug):
    """List an organization's API keys (never their secrets)."""
    ctx = _context(org_slug)
    keys = tenancy.list_api_keys(ctx.session, ctx.org)
    click.echo("id\tname\tprefix\trole\tcreated\tlast_used\tstatus")
    for key in keys:
        status = "revoked" if key.revoked_at else "active"
        when = [format_time(key.created_at), format_time(key.last_used_at)]
        fields = [str(key.id), key.name, key.prefix + "…", key.role, *when, status]
        click.echo("\t".join(fields))


@apikey_group.command("revoke")
@org_option
@click.argument("key_id", type=int)
@with_appcontext
def apikey_revoke(org_slug, key_id):
    """Revoke an API key by its id (see `apikey list`)."""
    ctx = _context(org_slug)
    _run(tenancy.revoke_api_key, ctx.session, ctx.org, key_id)
    click.echo(f"API key {key_id} revoked")


@cli.group("org")
def org_group():
    """Organization settings."""


@org_group.command("settings")
@org_option
@click.option("--default-role", help="org role of every active user, or 'none'")
@click.option("--group-roles", type=click.Choice(["on", "off"]), help="use group-derived roles")
@with_appcontext
def org_settings(org_slug, default_role, group_roles):
    """Show or change an organization's default role and group-roles switch."""
    ctx = _context(org_slug)
    if default_role is not None:
        role = None if default_role.lower() == "none" else default_role
        _run(settings.set_default_role, ctx, role)
    if group_roles is not None:
        _run(settings.set_group_roles_enabled, ctx, group_roles == "on")
    click.echo(f"default_role={ctx.org.default_role or 'none'}")
    click.echo(f"group_roles={'on' if ctx.org.group_roles_enabled else 'off'}")


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
    user = _run(accounts.create_admin, _context(org_slug), email, password, role)
    click.echo(f"admin {user.user_name} of {org_slug} ({role}): log in at /admin/login")


@cli.group("project")
def project_group():
    """Projects of an organization."""


@project_group.command("create")
@org_option
@click.argument("project")
@with_appcontext
def project_create(org_slug, project):
    """Create a project, named by its slug."""
    _run(resources.create_project, _context(org_slug), project)
    click.echo(f"project:{project} created")


@project_group.command("delete")
@org_option
@click.option("--yes", is_flag=True, help="delete without asking (the access lost is printed)")
@click.argument("project")
@with_appcontext
def project_delete(org_slug, yes, project):
    """Delete a project and its assets, after saying how many people lose access."""
    _delete_resource(_context(org_slug), f"project:{project}", yes)


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
    ctx = _context(org_slug)
    project_resource = _resource(ctx, f"project:{project}")
    agents = [_resource(ctx, f"asset:{project}/{slug}") for slug in filter(None, uses.split(","))]
    creator_user = _user(ctx, creator, directory) if creator else None
    _run(
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
    _delete_resource(_context(org_slug), f"asset:{project}/{asset}", yes)


def _delete_resource(ctx: Context, address: str, yes: bool) -> None:
    target = _resource(ctx, address)
    people = listing.people_with_access(ctx.session, ctx.org, target)
    click.echo(f"revokes every role on {address} from {people} user(s)")
    if not yes:
        click.confirm(f"delete {address}?", abort=True)
    diffs = _run(resources.delete_resource, ctx, target)
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
        ctx = _context(org_slug)
        principal = _FIND[holder](ctx, reference, directory)
        target = _resource(ctx, resource)
        changed = _run(operation, ctx, principal, role, target)
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
    user = _run(principals.create_local_user, _context(org_slug), user_name, display_name)
    click.echo(f"local user {user.user_name!r} created: {user.id}")


def _listing(command_group, name: str):
    """A listing command of an organization, narrowed to one directory by --directory."""

    def register(function):
        return command_group.command(name)(org_option(directory_option(with_appcontext(function))))

    return register


@_listing(user_group, "list")
def user_list(org_slug, directory):
    """List the organization's users (of one directory with --directory)."""
    ctx = _context(org_slug)
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
    group = _run(principals.create_local_group, _context(org_slug), name, slug, description)
    click.echo(f"local group {group.display_name!r} created: {group.id}")


@group_group.command("rename")
@org_option
@click.option("--description")
@click.argument("group")
@click.argument("name")
@with_appcontext
def group_rename(org_slug, description, group, name):
    """Rename a local group (GROUP: its name, slug or id)."""
    ctx = _context(org_slug)
    _run(principals.rename_local_group, ctx, _group(ctx, group), name, description)
    click.echo(f"group renamed {name!r}")


@group_group.command("delete")
@org_option
@click.option("--yes", is_flag=True, help="delete without asking (the access lost is printed)")
@click.argument("group")
@with_appcontext
def group_delete(org_slug, yes, group):
    """Delete a local group, after showing what its members will lose."""
    ctx = _context(org_slug)
    target = _group(ctx, group)
    granted = queries.explain_group(ctx, target)
    for grant in granted["grants"]:
        click.echo(f"revokes {grant['role']} on {grant['resource']} from its members")
    click.echo(f"members: {', '.join(granted['members']) or 'none'}")
    if not yes:
        click.confirm(f"delete group {target.display_name!r}?", abort=True)
    diffs = _run(principals.delete_local_group, ctx, target)
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
        ctx = _context(org_slug)
        target = _group(ctx, group)
        found = [_FIND[members](ctx, reference, directory) for reference in member]
        diffs = _run(operation, ctx, target, found)
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
    ctx = _context(org_slug)
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
    ctx = _context(org_slug)
    document = queries.explain_group(ctx, _group(ctx, group, directory))
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


@cli.command("check")
@org_option
@directory_option
@click.option("--json", "as_json", is_flag=True)
@click.argument("user_name")
@click.argument("permission")
@click.argument("resource")
@with_appcontext
def check(org_slug, directory, as_json, user_name, permission, resource):
    """May USERNAME use PERMISSION on RESOURCE? Exit 0 allowed, 1 denied."""
    ctx = _context(org_slug)
    user, target = _user(ctx, user_name, directory), _resource(ctx, resource)
    decision = domain(queries.check, ctx.session, ctx.catalog, user, permission, target)
    if as_json:
        document = {
            "allowed": decision.allowed,
            "role": decision.role,
            "additive": list(decision.additive),
            "source": decision.source,
            "reason": decision.reason,
        }
        click.echo(json.dumps(document))
    else:
        verdict = "allowed" if decision.allowed else "denied"
        role, source = decision.role or "-", decision.source or "-"
        click.echo(f"{verdict}: {decision.reason} (role: {role}, source: {source})")
    raise SystemExit(0 if decision.allowed else 1)


@cli.command("explain")
@org_option
@directory_option
@click.option("--json", "as_json", is_flag=True)
@click.argument("user_name")
@click.argument("resource")
@with_appcontext
def explain(org_slug, directory, as_json, user_name, resource):
    """Every source of USERNAME's role on RESOURCE, the winner, and why cascades apply."""
    ctx = _context(org_slug)
    user, target = _user(ctx, user_name, directory), _resource(ctx, resource)
    document = queries.explain_document(ctx, user, target)
    if as_json:
        click.echo(json.dumps(document))
        return
    click.echo(f"{user.user_name} on {document['resource']}: {document['role'] or 'no role'}")
    if not document["active"]:
        click.echo(
            "  the user is deactivated: no access at all (direct grants are kept, suspended)"
        )
    for source in document["sources"]:
        mark = "*" if source["wins"] else " "
        click.echo(f" {mark} {source['role']:<8} {source['detail']}")
    for source in document["suspended"]:
        why = f"not in effect: {source['because']}"
        click.echo(f" - {source['role']:<8} {source['detail']} ({why})")
    if document["additive"]:
        click.echo(f"  additive: {', '.join(document['additive'])}")
    for permission, why in document["workforce_rule"].items():
        click.echo(f"  withheld {permission}: {why}")


@cli.command("verify")
@click.option("--org", "org_slug")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def verify(org_slug, as_json):
    """Recompute access from the base tables; exit 1 and list the drift if any."""
    session = get_session()
    orgs = [_context(org_slug).org] if org_slug else list(session.scalars(select(Organization)))
    contexts = [Context(session, get_catalog(), org) for org in orgs]
    drift = [(ctx.org, d) for ctx in contexts for d in queries.verify(ctx)]
    for ctx in contexts:
        if not active_owners(ctx):
            # Not drift: a state worth seeing (seed 003's alert when the last Owner goes).
            click.echo(f"warning: organization {ctx.org.slug!r} has no active Owner", err=True)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "org": org.slug,
                        "user_id": d.user_id,
                        "resource_id": d.resource_id,
                        "materialised": d.materialised,
                        "recomputed": d.recomputed,
                        "materialised_source": d.materialised_source,
                        "recomputed_source": d.recomputed_source,
                    }
                    for org, d in drift
                ]
            )
        )
    elif drift:
        for org, d in drift:
            click.echo(
                f"{org.slug}: user {d.user_id} resource {d.resource_id}: "
                f"materialised {d.materialised} from {d.materialised_source}, "
                f"recomputed {d.recomputed} from {d.recomputed_source}"
            )
    else:
        click.echo(f"no drift in {len(orgs)} organization(s)")
    raise SystemExit(1 if drift else 0)


@cli.command("recompute")
@click.option("--org", "org_slug")
@with_appcontext
def recompute(org_slug):
    """Recompute every user's access, e.g. after changing the role catalog (events say why)."""
    session = get_session()
    orgs = [_context(org_slug).org] if org_slug else list(session.scalars(select(Organization)))
    changed = sum(
        len(domain(settings.apply_catalog, Context(session, get_catalog(), org))) for org in orgs
    )
    session.commit()
    click.echo(f"{changed} access change(s) in {len(orgs)} organization(s)")


@cli.command("catalog")
@with_appcontext
def catalog():
    """List every role with its description, then every permission with the roles holding it."""
    roles = get_catalog()
    for scope, ladder in roles.ladders.items():
        for role in (*ladder, *roles.additive[scope]):
            kind = " (additive)" if role.additive else ""
            click.echo(f"role\t{scope.value}:{role.name}{kind}\t{role.description}")
    for permission, holders in roles.permissions().items():
        click.echo(f"{permission}\t" + ", ".join(f"{r.scope.value}:{r.name}" for r in holders))
