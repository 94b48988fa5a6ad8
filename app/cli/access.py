"""`rolecall check`, `explain`, `verify`, `recompute`, `catalog`: access, why, and its upkeep."""

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.cli.base import (
    cli,
    directory_option,
    domain,
    lookup_resource,
    lookup_user,
    org_command,
    org_context,
    say,
)
from rbac import queries
from rbac.admin import settings
from rbac.changes import active_owners
from rbac.context import Context
from rbac.models import Organization
from web.db import get_catalog, get_session


@org_command(cli, "check")
@directory_option
@click.option("--json", "as_json", is_flag=True)
@click.argument("user_name")
@click.argument("permission")
@click.argument("resource")
def check(ctx, directory, as_json, user_name, permission, resource):
    """May USERNAME use PERMISSION on RESOURCE? Exit 0 allowed, 1 denied."""
    user, target = lookup_user(ctx, user_name, directory), lookup_resource(ctx, resource)
    decision = domain(queries.check, ctx.session, ctx.catalog, user, permission, target)
    if as_json:
        document = {
            "allowed": decision.allowed,
            "role": decision.role,
            "additive": list(decision.additive),
            "source": decision.source,
            "reason": decision.reason,
        }
        say(json.dumps(document))
    else:
        verdict = "allowed" if decision.allowed else "denied"
        role, source = decision.role or "-", decision.source or "-"
        say(f"{verdict}: {decision.reason} (role: {role}, source: {source})")
    raise SystemExit(0 if decision.allowed else 1)


@org_command(cli, "explain")
@directory_option
@click.option("--json", "as_json", is_flag=True)
@click.argument("user_name")
@click.argument("resource")
def explain(ctx, directory, as_json, user_name, resource):
    """Every source of USERNAME's role on RESOURCE, the winner, and why cascades apply."""
    user, target = lookup_user(ctx, user_name, directory), lookup_resource(ctx, resource)
    document = queries.explain_document(ctx, user, target)
    if as_json:
        say(json.dumps(document))
        return
    say(f"{user.user_name} on {document['resource']}: {document['role'] or 'no role'}")
    if not document["active"]:
        say("  the user is deactivated: no access at all (direct grants are kept, suspended)")
    for source in document["sources"]:
        mark = "*" if source["wins"] else " "
        say(f" {mark} {source['role']:<8} {source['detail']}")
    for source in document["suspended"]:
        why = f"not in effect: {source['because']}"
        say(f" - {source['role']:<8} {source['detail']} ({why})")
    if document["additive"]:
        say(f"  additive: {', '.join(document['additive'])}")
    for permission, why in document["workforce_rule"].items():
        say(f"  withheld {permission}: {why}")


@cli.command("verify")
@click.option("--org", "org_slug")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def verify(org_slug, as_json):
    """Recompute access from the base tables; exit 1 and list the drift if any."""
    session = get_session()
    orgs = [org_context(org_slug).org] if org_slug else list(session.scalars(select(Organization)))
    contexts = [Context(session, get_catalog(), org) for org in orgs]
    drift = [(ctx.org, d) for ctx in contexts for d in queries.verify(ctx)]
    for ctx in contexts:
        if not active_owners(ctx):
            # Not drift: a state worth seeing (seed 003's alert when the last Owner goes).
            say(f"warning: organization {ctx.org.slug!r} has no active Owner", err=True)
    if as_json:
        say(
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
            say(
                f"{org.slug}: user {d.user_id} resource {d.resource_id}: "
                f"materialised {d.materialised} from {d.materialised_source}, "
                f"recomputed {d.recomputed} from {d.recomputed_source}"
            )
    else:
        say(f"no drift in {len(orgs)} organization(s)")
    raise SystemExit(1 if drift else 0)


@cli.command("recompute")
@click.option("--org", "org_slug")
@with_appcontext
def recompute(org_slug):
    """Recompute every user's access, e.g. after changing the role catalog (events say why)."""
    session = get_session()
    orgs = [org_context(org_slug).org] if org_slug else list(session.scalars(select(Organization)))
    changed = sum(
        len(domain(settings.apply_catalog, Context(session, get_catalog(), org))) for org in orgs
    )
    session.commit()
    say(f"{changed} access change(s) in {len(orgs)} organization(s)")


@cli.command("catalog")
@with_appcontext
def catalog():
    """List every role with its description, then every permission with the roles holding it."""
    roles = get_catalog()
    for scope, ladder in roles.ladders.items():
        for role in (*ladder, *roles.additive[scope]):
            kind = " (additive)" if role.additive else ""
            say("role", f"{scope.value}:{role.name}{kind}", role.description)
    for permission, holders in roles.permissions().items():
        say(permission, ", ".join(f"{r.scope.value}:{r.name}" for r in holders))
