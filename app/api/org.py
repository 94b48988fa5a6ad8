"""/api/v1 routes of the organization: its role catalog, its settings, its directories.

Settings go through `rbac.admin.settings` (so through `apply_changes`: a change that would
leave no active Owner is a 409 naming the rail). Directory tokens and API keys are not issued
here: a leaked key must not be able to mint credentials (the CLI and /admin issue them).
"""

from flask import g

from app.api.boundary import (
    KEY_ERRORS,
    QUERIED_ERRORS,
    acting_context,
    read_context,
    read_route,
    takes_body,
    write_route,
)
from app.api.schemas.org import (
    CatalogOut,
    DirectoriesOut,
    DirectoryIn,
    DirectoryOut,
    JournalOut,
    JournalQuery,
    SettingsIn,
    SettingsOut,
)
from rbac import tenancy
from rbac.admin import settings
from rbac.db import utcnow
from rbac.journal import recent_requests
from rbac.models import Directory
from web.db import get_catalog, get_session
from web.urls import scim_base_url


@read_route("/catalog", CatalogOut, errors=KEY_ERRORS)
def get_role_catalog():
    """Every role (each ladder highest first, then the additive roles) and every permission."""
    catalog = get_catalog()
    roles = [
        {**vars(role), "scope": scope.value, "permissions": sorted(role.permissions)}
        for scope, ladder in catalog.ladders.items()
        for role in (*ladder, *catalog.additive[scope])
    ]
    permissions = [
        {"id": permission, "roles": [f"{role.scope.value}:{role.name}" for role in holders]}
        for permission, holders in catalog.permissions().items()
    ]
    return {"roles": roles, "permissions": permissions}


@read_route("/settings", SettingsOut, errors=KEY_ERRORS)
def get_settings():
    """The default role every active user holds, and whether groups grant roles."""
    return g.org


@write_route("/settings", "PATCH", 200, SettingsOut)
@takes_body(SettingsIn, "the settings to change")
def update_settings(body):
    """Change the default role, the group-roles switch or both; everyone is recomputed."""
    ctx = acting_context()
    if "default_role" in body:
        settings.set_default_role(ctx, body["default_role"])
    if "group_roles_enabled" in body:
        settings.set_group_roles_enabled(ctx, body["group_roles_enabled"])
    return ctx.org


@read_route("/directories", DirectoriesOut, errors=KEY_ERRORS)
def list_directories():
    """The organization's IdP directories, by name, with their tokens (never a secret)."""
    session = get_session()
    return {"data": [_directory(d) for d in tenancy.list_directories(session, g.org)]}


@read_route("/directories/<directory>", DirectoryOut)
def get_directory(directory):
    """A directory, by name."""
    return _directory(tenancy.get_directory(get_session(), g.org, directory))


@write_route("/directories/<directory>", "PATCH", 200, DirectoryOut)
@takes_body(DirectoryIn, "pause or resume provisioning")
def update_directory(body, directory):
    """Pause provisioning (`enabled: false`: its tokens get 403) or resume it."""
    found = tenancy.get_directory(get_session(), g.org, directory)
    tenancy.set_directory_enabled(acting_context(), found, body["enabled"])
    return _directory(found)


@read_route(
    "/directories/<directory>/journal", JournalOut, query=JournalQuery, errors=QUERIED_ERRORS
)
def get_journal(query, directory):
    """A directory's newest SCIM requests, newest first (the same as `rolecall journal`)."""
    ctx = read_context()
    found = tenancy.get_directory(ctx.session, ctx.org, directory)
    lines = recent_requests(ctx.session, found.id, query["limit"], query["errors"])
    return {"data": lines}


def _directory(directory: Directory) -> dict:
    now = utcnow()
    tokens = [
        {
            "id": token.id,
            "prefix": token.prefix,
            "state": tenancy.token_state(token, now).value,
            "created_at": token.created_at,
            "last_used_at": token.last_used_at,
            "expires_at": token.expires_at,
        }
        for token in tenancy.list_tokens(get_session(), directory)
    ]
    return {
        "name": directory.name,
        "provider": directory.provider.value,
        "scim_base_url": scim_base_url(),
        "enabled": directory.disabled_at is None,
        "created_at": directory.created_at,
        "tokens": tokens,
    }
