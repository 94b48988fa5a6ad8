"""The role catalog: a ladder of primary roles per scope, and additive roles, loaded from data."""

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from rbac.errors import InvalidValue, UnknownRole

DEFAULT_CATALOG = Path(__file__).with_name("catalog.json")


class Scope(StrEnum):
    """The level a role applies at."""

    ORGANIZATION = "organization"
    PROJECT = "project"
    ASSET = "asset"


@dataclass(frozen=True)
class Role:
    """A role of the catalog: its scope, name, rank in its ladder, and permissions."""

    scope: Scope
    name: str
    rank: int  # higher is stronger; additive roles have rank 0
    permissions: frozenset[str]
    additive: bool = False
    description: str = ""


@dataclass(frozen=True)
class Cascades:
    """Which roles imply roles on other resources (seed 002's cascades)."""

    org_roles_admin_everywhere: frozenset[str]
    project_roles_admin_of_assets: frozenset[str]
    asset_role_implies_project_role: str
    creator_asset_role: str


@dataclass(frozen=True)
class Administration:
    """The permission each admin action needs, checked for the acting user by the engine."""

    assign_roles: dict[Scope, str]  # giving or taking a role on a resource of that scope
    create_project: str
    create_asset: str
    delete_project: str
    delete_asset: str
    edit_asset: str  # e.g. the agents a workforce uses
    manage_principals: str  # local users and groups
    manage_settings: str
    manage_api_keys: str
    manage_webhooks: str  # webhook endpoints receive every event, as an API key reads them
    # SCIM tokens, pausing directories, sign-in with the IdP: whoever holds a token acts as the
    # IdP, which no rail blocks, so this is the Owner's (and an additive role's) alone.
    manage_directories: str
    view_audit_log: str  # the org's audit log of projects, assets and access
    view_project_audit_log: str  # one project's, for those its own roles let read it


@dataclass(frozen=True)
class Catalog:
    """Every role of a deployment, by scope, the cascades between scopes, and the admin rules."""

    ladders: dict[Scope, tuple[Role, ...]]  # highest first
    additive: dict[Scope, tuple[Role, ...]]
    cascades: Cascades
    # Permissions on a workforce that also need the same permission on every agent it uses.
    workforce_permissions: frozenset[str]
    administration: Administration

    @cached_property
    def _roles_by_name(self) -> dict[tuple[Scope, str], Role]:
        # Evaluation asks for roles by name several times per source: a dict, not a scan.
        found: dict[tuple[Scope, str], Role] = {}
        for scope in self.ladders:
            for role in (*self.ladders[scope], *self.additive[scope]):
                found.setdefault((scope, role.name), role)  # as the scan did: the first one
        return found

    def role(self, scope: Scope, name: str) -> Role:
        """Return the role of this name (case-insensitive) in a scope, or raise UnknownRole."""
        found = self._roles_by_name.get((scope, name)) or self._roles_by_name.get(
            (scope, name.lower())
        )
        if found is not None:
            return found
        names = ", ".join(r.name for r in (*self.ladders[scope], *self.additive[scope]))
        raise UnknownRole(f"{name!r} is not a {scope.value} role (one of: {names})")

    def highest(self, scope: Scope) -> Role:
        """Return the top of a scope's ladder."""
        return self.ladders[scope][0]

    @cached_property
    def permission_ids(self) -> frozenset[str]:
        """Every permission id some role holds (computed once: the catalog never changes)."""
        return frozenset(self.permissions())

    def permissions(self) -> dict[str, list[Role]]:
        """Return every permission id with the roles that hold it."""
        holders: dict[str, list[Role]] = {}
        for scope in Scope:
            for role in (*self.ladders[scope], *self.additive[scope]):
                for permission in sorted(role.permissions):
                    holders.setdefault(permission, []).append(role)
        return dict(sorted(holders.items()))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load a catalog file (JSON); the default one ships with Rolecall."""
    data = json.loads(Path(path or DEFAULT_CATALOG).read_text())
    ladders = {}
    for scope in Scope:
        entries = data["ladders"][scope.value]
        ladders[scope] = tuple(
            Role(
                scope,
                entry["name"].lower(),
                len(entries) - index,
                frozenset(entry["permissions"]),
                description=entry.get("description", ""),
            )
            for index, entry in enumerate(entries)
        )
    additive = {scope: [] for scope in Scope}
    for entry in data.get("additive", []):
        scope = Scope(entry["scope"])
        additive[scope].append(
            Role(
                scope,
                entry["name"].lower(),
                0,
                frozenset(entry["permissions"]),
                additive=True,
                description=entry.get("description", ""),
            )
        )
    cascades = data["cascades"]
    administration = data["administration"]
    catalog = Catalog(
        ladders,
        {scope: tuple(roles) for scope, roles in additive.items()},
        Cascades(
            frozenset(cascades["org_roles_admin_everywhere"]),
            frozenset(cascades["project_roles_admin_of_assets"]),
            cascades["asset_role_implies_project_role"],
            cascades["creator_asset_role"],
        ),
        frozenset(data.get("workforce_rule", {}).get("permissions", ())),
        Administration(
            {Scope(k): v for k, v in administration["assign_roles"].items()},
            administration["create_project"],
            administration["create_asset"],
            administration["delete_project"],
            administration["delete_asset"],
            administration["edit_asset"],
            administration["manage_principals"],
            administration["manage_settings"],
            administration["manage_api_keys"],
            administration["manage_webhooks"],
            administration["manage_directories"],
            administration["view_audit_log"],
            administration["view_project_audit_log"],
        ),
    )
    # Every role a cascade names must exist: fail at load, not at the first check.
    for name in catalog.cascades.org_roles_admin_everywhere:
        catalog.role(Scope.ORGANIZATION, name)
    for name in catalog.cascades.project_roles_admin_of_assets:
        catalog.role(Scope.PROJECT, name)
    catalog.role(Scope.PROJECT, catalog.cascades.asset_role_implies_project_role)
    catalog.role(Scope.ASSET, catalog.cascades.creator_asset_role)
    # So must every permission the admin rules and the workforce rule name.
    known = catalog.permissions().keys()
    admin = catalog.administration
    named = {
        *admin.assign_roles.values(),
        admin.create_project,
        admin.create_asset,
        admin.manage_principals,
        admin.manage_settings,
        admin.manage_directories,
        *catalog.workforce_permissions,
    }
    if unknown := named - known:
        raise InvalidValue(f"the catalog names permissions no role holds: {sorted(unknown)}")
    return catalog
