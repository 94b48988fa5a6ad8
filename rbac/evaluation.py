"""Pure evaluation of a user's effective roles from their sources: no database, no I/O.

The effective primary role on a resource is the highest of every source; additive roles are
unioned. Cascades follow the catalog: org Owner/Admin ⇒ Admin on every project and asset;
project Admin/Editor ⇒ Admin on the project's assets; any asset role ⇒ at least the project's
Viewer. An inactive user holds nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from rbac.catalog import Catalog, Role, Scope


class ResourceKind(StrEnum):
    """What a resource is; assets are agents, tools, knowledge bases and workforces."""

    ORGANIZATION = "organization"
    PROJECT = "project"
    AGENT = "agent"
    TOOL = "tool"
    KNOWLEDGE = "knowledge"
    WORKFORCE = "workforce"

    @property
    def scope(self) -> Scope:
        """Return the role scope of this kind of resource."""
        if self is ResourceKind.ORGANIZATION:
            return Scope.ORGANIZATION
        if self is ResourceKind.PROJECT:
            return Scope.PROJECT
        return Scope.ASSET


class SourceKind(StrEnum):
    """Where a role comes from."""

    DEFAULT = "default"  # the organization's default role of every active user
    DIRECT = "direct"  # granted to the user
    GROUP = "group"  # held by a group the user is (transitively) a member of
    CASCADE = "cascade"  # implied by a role on another resource


@dataclass(frozen=True)
class ResourceRef:
    """A resource as evaluation needs it: its kind and where it sits."""

    id: int
    kind: ResourceKind
    project_id: int | None = None  # the project of an asset


@dataclass(frozen=True)
class Source:
    """One reason a user holds a role on a resource."""

    kind: SourceKind
    role: str
    resource_id: int
    group_id: str | None = None
    # For a cascade: the resource and role it comes from.
    from_resource_id: int | None = None
    from_role: str | None = None


@dataclass(frozen=True)
class Access:
    """A user's effective access to one resource."""

    role: str | None  # the winning primary role, None if only additive roles are held
    source: Source | None  # the winning source of the primary role
    additive: frozenset[str] = frozenset()
    sources: tuple[Source, ...] = field(default=(), compare=False)


def evaluate(
    catalog: Catalog,
    resources: dict[int, ResourceRef],
    sources: Iterable[Source],
    *,
    active: bool = True,
) -> dict[int, Access]:
    """Return the effective access, per resource id, that these sources give an active user.

    `resources` must hold every resource a source names, and, for cascades, every project
    and asset of the organization (or of a project) whose role cascades.
    """
    if not active:
        return {}
    by_resource: dict[int, list[Source]] = {}
    for source in sources:
        by_resource.setdefault(source.resource_id, []).append(source)
    cascades = catalog.cascades

    def winner(resource_id: int) -> Source | None:
        scope = resources[resource_id].kind.scope
        # Highest rank, then most explicit; among equals a fixed order, so that the source
        # stored by a recomputation and the one verify recomputes are the same.
        ranked = [
            ((-catalog.role(scope, s.role).rank, -_precedence(s), *_tie_break(s)), s)
            for s in by_resource.get(resource_id, [])
            if not catalog.role(scope, s.role).additive
        ]
        return min(ranked, key=lambda item: item[0])[1] if ranked else None

    def add(source: Source) -> None:
        by_resource.setdefault(source.resource_id, []).append(source)

    assets = [r for r in resources.values() if r.kind.scope == Scope.ASSET]
    projects = [r for r in resources.values() if r.kind == ResourceKind.PROJECT]
    org = next((r for r in resources.values() if r.kind == ResourceKind.ORGANIZATION), None)

    # Any role held on an asset (before cascades) makes its holder a viewer of the project.
    for asset in assets:
        # Any source counts, additive ones too.
        held = winner(asset.id) or min(by_resource.get(asset.id, []), key=_tie_break, default=None)
        if held is not None and asset.project_id in resources:
            add(
                Source(
                    SourceKind.CASCADE,
                    cascades.asset_role_implies_project_role,
                    asset.project_id,
                    from_resource_id=asset.id,
                    from_role=held.role,
                )
            )
    # Org owners and admins administer every project and asset.
    org_winner = winner(org.id) if org else None
    if org_winner is not None and org_winner.role in cascades.org_roles_admin_everywhere:
        for resource in (*projects, *assets):
            add(
                Source(
                    SourceKind.CASCADE,
                    catalog.highest(resource.kind.scope).name,
                    resource.id,
                    from_resource_id=org.id,
                    from_role=org_winner.role,
                )
            )
    # Project admins and editors administer the project's assets.
    for project in projects:
        project_winner = winner(project.id)
        if (
            project_winner is None
            or project_winner.role not in cascades.project_roles_admin_of_assets
        ):
            continue
        for asset in assets:
            if asset.project_id == project.id:
                add(
                    Source(
                        SourceKind.CASCADE,
                        catalog.highest(Scope.ASSET).name,
                        asset.id,
                        from_resource_id=project.id,
                        from_role=project_winner.role,
                    )
                )

    access = {}
    for resource_id, held in by_resource.items():
        scope = resources[resource_id].kind.scope
        best = winner(resource_id)
        additive = frozenset(s.role for s in held if catalog.role(scope, s.role).additive)
        access[resource_id] = Access(
            role=best.role if best else None,
            source=best,
            additive=additive,
            sources=tuple(sorted(held, key=lambda s: (-catalog.role(scope, s.role).rank, s.kind))),
        )
    return access


def permissions_of(catalog: Catalog, scope: Scope, access: Access | None) -> frozenset[str]:
    """Return the permissions an access grants: its primary role's and its additive roles'."""
    if access is None:
        return frozenset()
    roles: list[Role] = [catalog.role(scope, name) for name in access.additive]
    if access.role is not None:
        roles.append(catalog.role(scope, access.role))
    return frozenset(p for role in roles for p in role.permissions)


def _tie_break(source: Source) -> tuple:
    """An order among sources otherwise equal (two groups, two assets cascading the same)."""
    return (source.from_resource_id or 0, source.group_id or "", source.from_role or "")


def _precedence(source: Source) -> int:
    """Among equal roles, the winner is the most explicit source (direct first)."""
    return _PRECEDENCE[source.kind]


_PRECEDENCE = {
    kind: rank
    for rank, kind in enumerate(
        [SourceKind.CASCADE, SourceKind.DEFAULT, SourceKind.GROUP, SourceKind.DIRECT]
    )
}
