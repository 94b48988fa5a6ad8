"""`rolecall db upgrade`, `bootstrap` and `run`: the schema, a first organization, serving."""

import ipaddress
import os
import sys
import tempfile

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import select

from app.cli.base import cli, domain, say
from app.migrate import upgrade_database
from app.serving import ACCESS_LOG_FORMAT, LIMIT_REQUEST_LINE, child_exit, post_worker_init
from rbac import tenancy
from rbac.models import Organization, Provider
from web.db import get_catalog, get_engine, get_session

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
    say("database is at the latest revision")


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
        get_catalog(),
        org_slug,
        directory_name,
        Provider(provider.lower()),
    )
    get_session().commit()
    say(f"SCIM_BASE_URL={scim_base_url()}")
    say(f"SCIM_TOKEN={token}")


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
        token = tenancy.bootstrap_directory(
            session, get_catalog(), "default", "default", Provider.GENERIC
        )
        session.commit()
        say("Created organization 'default' with directory 'default'.")
        say(f"SCIM_BASE_URL={base_url}")
        say(f"SCIM_TOKEN={token}")
        say("The token is shown only this once.")
    else:
        say(f"SCIM_BASE_URL={base_url}")
        say("New token: rolecall token create --org SLUG --directory NAME")
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
