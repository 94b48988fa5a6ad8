"""The base of the `rolecall` command line: the group, its exit codes, what commands share.

`cli` is a Flask CLI group: a command runs in the context of the app `create_app` builds.
Exit codes (the README's command table): 0 success, 1 a "no" answer (`check` denied,
`verify` drift), 2 bad usage or input (`BadInput`: domain errors become it in `domain`), 3
no answer at all (COULD_NOT_ANSWER). The command line acts as the system principal (the
operator, trusted: `rbac.context.SYSTEM`): a command of an organization (`org_command`) gets
its context, translates its arguments, calls one domain operation and commits
(`commit_change`); nothing else is caught.
"""

import functools
import sys
import traceback
from datetime import datetime, timedelta

import click
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import exc as sqlalchemy_errors

from app import create_app
from rbac import lookups, tenancy
from rbac.context import Context
from rbac.errors import DomainError
from rbac.journal import escape_text
from rbac.resources import find_resource
from web.db import get_catalog, get_session


class BadInput(click.ClickException):
    """A command's input names something that does not exist or cannot be: exit code 2."""

    exit_code = 2


# Exit 1 is a script's "no" (check denied, verify drift): a command that could not answer at
# all exits with this instead, so that a broken setup never reads as a denial.
COULD_NOT_ANSWER = 3


class RolecallGroup(FlaskGroup):
    """The command group; a failure that is no answer exits COULD_NOT_ANSWER, never 1."""

    def main(self, *args, **kwargs):
        """Run a command; an unusable database or an unexpected failure exits 3."""
        try:
            return super().main(*args, **kwargs)
        except Exception as error:
            if _database_unusable(error):
                reason = _database_reason(error)
                click.echo(f"Error: the database cannot be used: {reason}", err=True)
            else:
                traceback.print_exc()
                click.echo("Error: the command failed unexpectedly (above)", err=True)
            sys.exit(COULD_NOT_ANSWER)


def _database_unusable(error: Exception) -> bool:
    """Whether an error says the database is unreachable, not migrated, or named wrongly."""
    if isinstance(error, sqlalchemy_errors.OperationalError | sqlalchemy_errors.ArgumentError):
        return True  # SQLite's "no such table" is one, as is a refused connection
    undefined_table = getattr(getattr(error, "orig", None), "sqlstate", None) == "42P01"
    return isinstance(error, sqlalchemy_errors.ProgrammingError) and undefined_table


def _database_reason(error: Exception) -> str:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if "no such table" in reason or "does not exist" in reason:
        reason += " (not migrated: run `rolecall db upgrade`)"
    return reason


cli = RolecallGroup(
    create_app=lambda: create_app(),
    add_default_commands=False,
    add_version_option=False,
    help="Rolecall: SCIM provisioning server and RBAC engine.",
)


def say(*fields: object, err: bool = False) -> None:
    """Print one line of human-readable output, its fields separated by tabs.

    A control character in a field is escaped: a name an IdP sent may hold ESC, CR or LF, and
    printed raw it would clear the screen, rewrite the line or forge a row or a column.
    """
    click.echo("\t".join(escape_text(str(field), backslash=False) for field in fields), err=err)


def domain(call, *args, **kwargs):
    """Run a domain call, turning its errors (and only those: a bug is no bad input) into exit 2."""
    try:
        return call(*args, **kwargs)
    except DomainError as error:
        raise BadInput(escape_text(str(error), backslash=False)) from error


org_option = click.option("--org", "org_slug", required=True, help="organization slug")
directory_option = click.option(
    "--directory", help="the directory of the user or group, when a name is in several"
)
yes_option = click.option(
    "--yes", is_flag=True, help="delete without asking (the access lost is printed)"
)


def org_context(org_slug: str) -> Context:
    """The context of a command: the named organization, acted on by the system principal."""
    org = domain(tenancy.get_organization, get_session(), org_slug)
    return Context(get_session(), get_catalog(), org)


def org_command(group: click.Group, name: str, **settings):
    """Register a command of one organization: --org first; its function gets the context.

    The function takes the operator's `org_context` in place of the slug, then the other
    options and arguments; `settings` are the command's (`help`, …).
    """

    def register(function):
        @functools.wraps(function)
        def command(org_slug, **params):
            return function(org_context(org_slug), **params)

        return group.command(name, **settings)(org_option(with_appcontext(command)))

    return register


def commit_change(call, *args, **kwargs):
    """Run a domain operation; its errors exit 2, and success commits."""
    result = domain(call, *args, **kwargs)
    get_session().commit()
    return result


def delete_confirmed(ctx: Context, what: str, yes: bool, operation, target) -> None:
    """Ask before deleting (unless --yes), delete and commit; say how many accesses changed."""
    if not yes:
        click.confirm(f"delete {escape_text(what, backslash=False)}?", abort=True)
    diffs = commit_change(operation, ctx, target)
    say(f"{what} deleted; {len(diffs)} access change(s)")


def lookup_user(ctx: Context, reference: str, directory: str | None = None):
    """The user named by userName or id (in one directory if given); else exit 2."""
    return domain(lookups.find_user, ctx.session, ctx.org, reference, directory)


def lookup_group(ctx: Context, reference: str, directory: str | None = None):
    """The group named by displayName, slug or id (in one directory if given); else exit 2."""
    return domain(lookups.find_group, ctx.session, ctx.org, reference, directory)


# How a command finds a principal named on its command line, by the kind it names.
LOOKUP = {"user": lookup_user, "users": lookup_user, "group": lookup_group, "groups": lookup_group}


def lookup_resource(ctx: Context, address: str):
    """The resource at an address (org, project:P, asset:P/A); else exit 2."""
    return domain(find_resource, ctx.session, ctx.org, address)


def format_time(moment: datetime | None, none: str = "-") -> str:
    """Return a timestamp as ISO 8601 UTC, or none's text for no timestamp."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else none


def format_duration(span: timedelta) -> str:
    """Return a span to the nearest minute, in days past 48 hours: 30d 4h, 24h, 2h 5m, <1m."""
    hours, minutes = divmod(round(span.total_seconds() / 60), 60)
    if hours >= 48:
        days, hours = divmod(hours, 24)
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes > 0 else "<1m"
