"""Organization settings that change everyone's access: the default role, the group-roles switch."""

from rbac.authorization import authorize
from rbac.catalog import Scope
from rbac.changes import apply_changes
from rbac.context import Context
from rbac.errors import InvalidValue, Refused
from rbac.facts import CatalogApplied, DefaultRoleChanged, GroupRolesSwitched
from rbac.recompute import AccessDiff
from rbac.resources import org_resource


def set_default_role(ctx: Context, role: str | None) -> list[AccessDiff]:
    """Set the org role every active user holds (None for none); recompute everyone."""
    _authorize(ctx)
    name = ctx.catalog.role(Scope.ORGANIZATION, role).name if role else None
    if name is not None and ctx.catalog.role(Scope.ORGANIZATION, name).additive:
        raise InvalidValue("the default role must be a role of the organization ladder")
    if name is not None and name == ctx.catalog.highest(Scope.ORGANIZATION).name:
        raise Refused(f"the default role cannot be {name}: every user would own the organization")
    if ctx.org.default_role == name:
        return []
    old, ctx.org.default_role = ctx.org.default_role, name
    ctx.session.flush()
    return apply_changes(ctx, [DefaultRoleChanged(old, name)])


def set_group_roles_enabled(ctx: Context, enabled: bool) -> list[AccessDiff]:
    """Turn group-derived roles on or off for the whole organization (kept either way)."""
    _authorize(ctx)
    if ctx.org.group_roles_enabled == enabled:
        return []
    ctx.org.group_roles_enabled = enabled
    ctx.session.flush()
    return apply_changes(ctx, [GroupRolesSwitched(enabled)])


def apply_catalog(ctx: Context) -> list[AccessDiff]:
    """Recompute every user of the org against the catalog now loaded (after changing it)."""
    _authorize(ctx)
    return apply_changes(ctx, [CatalogApplied()])


def _authorize(ctx: Context) -> None:
    authorize(ctx, ctx.catalog.administration.manage_settings, org_resource(ctx.session, ctx.org))
