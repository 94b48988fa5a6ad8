"""The `rolecall` command line: a Flask CLI group (see "Scriptable interface" in PRODUCT.md)."""

import sys
from datetime import timedelta
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

import migrations
from app import create_app
from app.db import get_engine, get_session
from rbac import tenancy
from rbac.db import utcnow
from rbac.errors import DomainError
from rbac.journal import recent_requests
from rbac.models import Directory, DirectoryToken, Organization, Provider


class BadInput(click.ClickException):
    """A command's input names something that does not exist or cannot be: exit code 2."""

    exit_code = 2


cli = FlaskGroup(
    create_app=lambda: create_app(),
    add_default_commands=False,
    add_version_option=False,
    help="Rolecall: SCIM provisioning server and RBAC engine.",
)


def _domain(call, *args, **kwargs):
    """Run a domain call, turning its input errors into exit code 2."""
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


def scim_base_url() -> str:
    """Return the SCIM base URL IdPs are given."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/scim/v2"


@cli.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply migrations."""
    upgrade_database()
    click.echo("database is at the latest revision")


def bootstrap_directory(org_slug: str, directory_name: str, provider: Provider) -> str:
    """Create the org and directory if missing; return a new token's plaintext (not committed)."""
    session = get_session()
    org = session.scalar(select(Organization).where(Organization.slug == org_slug))
    if org is None:
        org = tenancy.create_organization(session, org_slug)
    directory = session.scalar(
        select(Directory).where(
            Directory.organization_id == org.id, Directory.name == directory_name
        )
    )
    if directory is None:
        directory = tenancy.create_directory(session, org, directory_name, provider)
    elif directory.provider != provider:
        raise BadInput(
            f"directory {directory_name!r} exists with provider {directory.provider.value!r}"
        )
    _, plaintext = tenancy.issue_token(session, directory)
    return plaintext


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
    """Create what is missing and print the SCIM base URL and a new token."""
    token = _domain(bootstrap_directory, org_slug, directory_name, Provider(provider.lower()))
    get_session().commit()
    click.echo(f"SCIM_BASE_URL={scim_base_url()}")
    click.echo(f"SCIM_TOKEN={token}")


@cli.group("directory")
def directory_group():
    """IdP directories of an organization."""


@directory_group.command("disable")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@with_appcontext
def directory_disable(org_slug, directory_name):
    """Pause provisioning: the directory's tokens get 403 until it is enabled again."""
    tenancy.set_directory_enabled(get_session(), _directory(org_slug, directory_name), False)
    get_session().commit()
    click.echo(f"directory {directory_name!r} disabled")


@directory_group.command("enable")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@with_appcontext
def directory_enable(org_slug, directory_name):
    """Resume provisioning of a disabled directory."""
    tenancy.set_directory_enabled(get_session(), _directory(org_slug, directory_name), True)
    get_session().commit()
    click.echo(f"directory {directory_name!r} enabled")


@cli.group("token")
def token_group():
    """Bearer tokens of a directory."""


def _directory(org_slug: str, directory_name: str) -> Directory:
    session = get_session()
    org = _domain(tenancy.get_organization, session, org_slug)
    return _domain(tenancy.get_directory, session, org, directory_name)


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
    """List a directory's tokens (never their secrets)."""
    directory = _directory(org_slug, directory_name)
    tokens = get_session().scalars(
        select(DirectoryToken)
        .where(DirectoryToken.directory_id == directory.id)
        .order_by(DirectoryToken.id)
    )
    click.echo("id\tprefix\tcreated\tlast_used\texpires\tstatus")
    now = utcnow()
    for token in tokens:
        if token.revoked_at:
            status = "revoked"
        elif token.expires_at and token.expires_at <= now:
            status = "expired"
        else:
            status = "active"
        click.echo(
            "\t".join(
                [
                    str(token.id),
                    token.prefix + "…",
                    format_time(token.created_at),
                    format_time(token.last_used_at),
                    format_time(token.expires_at),
                    status,
                ]
            )
        )


@token_group.command("revoke")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(org_slug, directory_name, token_id):
    """Revoke a token by its id (see `token list`)."""
    directory = _directory(org_slug, directory_name)
    _domain(tenancy.revoke_token, get_session(), directory, token_id)
    get_session().commit()
    click.echo(f"token {token_id} revoked")


@cli.command("journal")
@click.option("--org", "org_slug", required=True)
@click.option("--directory", "directory_name", required=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--errors", is_flag=True, help="only requests that failed (status 400 and up)")
@with_appcontext
def journal(org_slug, directory_name, limit, errors):
    """Show a directory's newest SCIM requests, newest first."""
    directory = _directory(org_slug, directory_name)
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
        click.echo("\t".join(fields))


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@with_appcontext
def run(host, port, workers):
    """Apply migrations, create a first org/directory/token if none exist, serve with gunicorn."""
    upgrade_database()
    session = get_session()
    if session.scalar(select(Organization.id).limit(1)) is None:
        token = bootstrap_directory("default", "default", Provider.GENERIC)
        session.commit()
        click.echo("Created organization 'default' with directory 'default'.")
        click.echo(f"SCIM_BASE_URL={scim_base_url()}")
        click.echo(f"SCIM_TOKEN={token}")
        click.echo("The token is shown only this once.")
    else:
        click.echo(f"SCIM_BASE_URL={scim_base_url()}")
        click.echo("New token: rolecall token create --org SLUG --directory NAME")
    session.close()
    get_engine().dispose()
    sys.stdout.flush()
    _serve(current_app._get_current_object(), host, port, workers)


def _serve(app, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self):
            return app

    Server().run()


def format_time(moment) -> str:
    """Return a timestamp as ISO 8601 UTC, or - for none."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


# The RBAC commands register themselves on `cli`.
from app import rbac_cli  # noqa: E402,F401
