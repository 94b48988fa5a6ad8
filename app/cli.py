"""The `rolecall` command line: a Flask CLI group (see "Scriptable interface" in PRODUCT.md)."""

import ipaddress
import os
import sys
import tempfile
import traceback
from datetime import datetime, timedelta
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy import select

import migrations
from app import create_app
from app.serving import ACCESS_LOG_FORMAT, LIMIT_REQUEST_LINE, child_exit, post_worker_init
from rbac import tenancy
from rbac.db import utcnow
from rbac.errors import DomainError
from rbac.journal import escape_text, read_counts, recent_requests
from rbac.models import Directory, Organization, Provider
from web.db import get_engine, get_session


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


def domain(call, *args, **kwargs):
    """Run a domain call, turning its errors (and only those: a bug is no bad input) into exit 2."""
    try:
        return call(*args, **kwargs)
    except DomainError as error:
        raise BadInput(str(error)) from error


def alembic_config() -> AlembicConfig:
    """Return an Alembic config whose migrations run on the app's engine."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def upgrade_database() -> None:
    """Apply every migration to the app's database."""
    config = alembic_config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, "head")


# Where `rolecall run` serves by default: the base URL `bootstrap` prints without
# ROLECALL_PUBLIC_URL, since it cannot know where the server will listen.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def scim_base_url(served: str = DEFAULT_BASE_URL) -> str:
    """Return the SCIM base URL IdPs are given: ROLECALL_PUBLIC_URL if set, else served."""
    base = current_app.config.get("PUBLIC_BASE_URL") or served
    return base.rstrip("/") + "/scim/v2"


def bind_address(host: str, port: int) -> str:
    """Return host:port as gunicorn binds it and a URL names it (an IPv6 address in brackets)."""
    host = host.removeprefix("[").removesuffix("]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def served_url(host: str, port: int) -> str:
    """Return the URL a server bound to host:port answers on (loopback for a wildcard bind)."""
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        address = None  # a host name, such as localhost
    if address is not None and address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    return "http://" + bind_address(host, port)


@cli.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply migrations."""
    upgrade_database()
    click.echo("database is at the latest revision")


@cli.command("bootstrap")
@click.option("--org", "org_slug", required=True, help="organization slug")
@click.option("--directory", "directory_name", required=True, help="directory name")
@click.option(
    "--provider",
    type=click.Choice([p.value for p in Provider], case_sensitive=False),
    default=Provider.GENERIC.value,
    show_default=True,
)
@with_appcontext
def bootstrap(org_slug, directory_name, provider):
    """Create what is missing and print the SCIM base URL and a new token.

    The base URL is ROLECALL_PUBLIC_URL's, else http://127.0.0.1:8000 (where `rolecall run`
    serves by default).
    """
    token = domain(
        tenancy.bootstrap_directory,
        get_session(),
        org_slug,
        directory_name,
        Provider(provider.lower()),
    )
    get_session().commit()
    click.echo(f"SCIM_BASE_URL={scim_base_url()}")
    click.echo(f"SCIM_TOKEN={token}")


@cli.group("directory")
def directory_group():
    """IdP directories of an organization."""


def _directory_switch(name: str, enabled: bool, doc: str):
    @directory_group.command(name, help=doc)
    @click.option("--org", "org_slug", required=True)
    @click.option("--directory", "directory_name", required=True)
    @with_appcontext
    def command(org_slug, directory_name):
        tenancy.set_directory_enabled(get_session(), _directory(org_slug, directory_name), enabled)
        get_session().commit()
        click.echo(f"directory {directory_name!r} {name}d")

    return command


_directory_switch(
    "disable", False, "Pause provisioning: the directory's tokens get 403 until it is enabled."
)
_directory_switch("enable", True, "Resume provisioning of a disabled directory.")


@cli.group("token")
def token_group():
    """Bearer tokens of a directory."""


def _directory(org_slug: str, directory_name: str) -> Directory:
    session = get_session()
    org = domain(tenancy.get_organization, session, org_slug)
    return domain(tenancy.get_directory, session, org, directory_name)


@token_group.command("create")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.option("--expires-in-days", type=click.IntRange(min=1), help="default: never expires")
@with_appcontext
def token_create(org_slug, directory_name, expires_in_days):
    """Create a bearer token; it is printed once, on the last line."""
    directory = _directory(org_slug, directory_name)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token, plaintext = tenancy.issue_token(get_session(), directory, expires_at)
    get_session().commit()
    click.echo(f"token {token.id} created for directory {directory.name!r}; it is shown only once:")
    click.echo(plaintext)


@token_group.command("list")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@with_appcontext
def token_list(org_slug, directory_name):
    """List a directory's tokens (never their secrets): last use, expiry and status.

    Status is active, `expiring in …` (live until its expiry, e.g. after a rotation), expired
    or revoked; times are UTC, `never` where there is none.
    """
    directory = _directory(org_slug, directory_name)
    click.echo("id\tprefix\tcreated\tlast_used\texpires\tstatus")
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
        click.echo("\t".join(fields))


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
    directory = _directory(org_slug, directory_name)
    token, plaintext, old = domain(
        tenancy.rotate_tokens, get_session(), directory, timedelta(hours=grace_hours)
    )
    get_session().commit()
    now = utcnow()
    for previous in old:
        remaining = previous.expires_at - now
        when = "now" if remaining <= timedelta(0) else "in " + format_duration(remaining)
        click.echo(
            f"token {previous.id} ({previous.prefix}…) expires "
            f"{format_time(previous.expires_at)} ({when})"
        )
    if not old:
        click.echo("no other live token to expire")
    click.echo(f"token {token.id} created for directory {directory.name!r}; it is shown only once:")
    click.echo(plaintext)


@token_group.command("revoke")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(org_slug, directory_name, token_id):
    """Revoke a token by its id (see `token list`)."""
    directory = _directory(org_slug, directory_name)
    domain(tenancy.revoke_token, get_session(), directory, token_id)
    get_session().commit()
    click.echo(f"token {token_id} revoked")


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
    directory = _directory(org_slug, directory_name)
    if reads:
        click.echo("minute\trequest\tcount\tmean_ms")
        since = utcnow() - timedelta(hours=1)
        for counted in read_counts(get_session(), directory.id, since)[:limit]:
            mean = counted.duration_ms / counted.count
            click.echo(
                f"{format_time(counted.minute)}\t{counted.route}\t{counted.count}\t{mean:.1f}"
            )
        return
    entries = recent_requests(get_session(), directory.id, limit, errors_only=errors)
    click.echo("time\tstatus\tms\tmethod\tpath\ttolerances\tcorrelation_id\tdetail")
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
        click.echo("\t".join(escape_text(field, backslash=False) for field in fields))


@cli.command("run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def run(click_context, host, port, workers):
    """Apply migrations, create a first org/directory/token if none exist, serve with gunicorn.

    The SCIM base URL printed is ROLECALL_PUBLIC_URL's, else the address served.
    """
    app = click_context.ensure_object(ScriptInfo).load_app()
    # Set up in an app context of its own, and serve after it is gone: workers forked inside
    # one would share it, and with it `g` (one database session, one correlation id) across
    # every request they serve (Flask reuses an app context already pushed).
    with app.app_context():
        _prepare_first_run(scim_base_url(served_url(host, port)))
        get_engine().dispose()
    sys.stdout.flush()
    _serve(app, bind_address(host, port), workers)


def _prepare_first_run(base_url: str) -> None:
    """Migrate; make a first organization, directory and token if there is none; say so."""
    upgrade_database()
    session = get_session()
    if session.scalar(select(Organization.id).limit(1)) is None:
        token = tenancy.bootstrap_directory(session, "default", "default", Provider.GENERIC)
        session.commit()
        click.echo("Created organization 'default' with directory 'default'.")
        click.echo(f"SCIM_BASE_URL={base_url}")
        click.echo(f"SCIM_TOKEN={token}")
        click.echo("The token is shown only this once.")
    else:
        click.echo(f"SCIM_BASE_URL={base_url}")
        click.echo("New token: rolecall token create --org SLUG --directory NAME")
    session.close()  # before the engine is disposed of: nothing is left checked out


def _serve(app, bind: str, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    # Every worker's request metrics in one folder, so that /metrics sums them.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="rolecall-metrics-"))

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            # Each request is logged by the app, as a JSON line with its correlation id.
            self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)
            self.cfg.set("limit_request_line", LIMIT_REQUEST_LINE)
            self.cfg.set("child_exit", child_exit)
            self.cfg.set("post_worker_init", post_worker_init)

        def load(self):
            return app

    Server().run()


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


# The RBAC commands register themselves on `cli`.
from app import rbac_cli, webhook_cli  # noqa: E402,F401
