"""Unit tests of role evaluation: pure functions over sources, no database."""

import pytest

from rbac.catalog import DEFAULT_CATALOG, Scope, load_catalog
from rbac.errors import UnknownRole
from rbac.evaluation import ResourceKind, ResourceRef, Source, SourceKind, evaluate, permissions_of

CATALOG = load_catalog()
ORG, WEB, BOT, TOOL, API, API_BOT = 1, 10, 11, 12, 20, 21
RESOURCES = {
    ORG: ResourceRef(ORG, ResourceKind.ORGANIZATION),
    WEB: ResourceRef(WEB, ResourceKind.PROJECT),
    BOT: ResourceRef(BOT, ResourceKind.AGENT, WEB),
    TOOL: ResourceRef(TOOL, ResourceKind.TOOL, WEB),
    API: ResourceRef(API, ResourceKind.PROJECT),
    API_BOT: ResourceRef(API_BOT, ResourceKind.AGENT, API),
}


def roles(*sources, active=True):
    """Return {resource: role} for these sources."""
    return {rid: a.role for rid, a in evaluate(CATALOG, RESOURCES, sources, active=active).items()}


def direct(role, resource):
    """A direct grant."""
    return Source(SourceKind.DIRECT, role, resource)


def group(role, resource, group_id="g1"):
    """A role through a group."""
    return Source(SourceKind.GROUP, role, resource, group_id=group_id)


def test_highest_source_wins_both_ways():
    """A direct Viewer does not lower a group Admin, and the reverse."""
    assert roles(direct("viewer", BOT), group("admin", BOT))[BOT] == "admin"
    assert roles(direct("admin", BOT), group("viewer", BOT))[BOT] == "admin"


def test_among_equal_roles_the_direct_source_wins():
    """Equal roles: the winning source is the most explicit one (direct before group)."""
    access = evaluate(CATALOG, RESOURCES, [group("member", BOT), direct("member", BOT)])
    assert access[BOT].source.kind == SourceKind.DIRECT


def test_org_admin_cascades_to_every_project_and_asset():
    """Org Owner or Admin ⇒ Admin on every project and asset."""
    for role in ("owner", "admin"):
        result = roles(direct(role, ORG))
        assert result == {
            ORG: role,
            WEB: "admin",
            BOT: "admin",
            TOOL: "admin",
            API: "admin",
            API_BOT: "admin",
        }


def test_org_member_does_not_cascade():
    """Org Member and Viewer reach no project."""
    assert roles(direct("member", ORG)) == {ORG: "member"}


def test_project_admin_and_editor_administer_their_assets_only():
    """Project Admin/Editor ⇒ Admin on the project's assets, not on other projects'."""
    for role in ("admin", "editor"):
        assert roles(group(role, WEB)) == {WEB: role, BOT: "admin", TOOL: "admin"}
    assert roles(group("member", WEB)) == {WEB: "member"}


def test_any_asset_role_makes_a_project_viewer():
    """Holding any role on an asset ⇒ at least Viewer of its project (and no more)."""
    result = evaluate(CATALOG, RESOURCES, [group("viewer", BOT)])
    assert result[WEB].role == "viewer"
    assert result[WEB].source.kind == SourceKind.CASCADE
    assert result[WEB].source.from_resource_id == BOT
    assert roles(group("member", BOT), direct("editor", WEB))[WEB] == "editor"


def test_inactive_user_holds_nothing():
    """A deactivated user has no effective access at all."""
    assert roles(direct("owner", ORG), group("admin", BOT), active=False) == {}


def test_additive_roles_are_unioned_beside_the_primary():
    """Additive roles add permissions without competing with the ladder."""
    access = evaluate(
        CATALOG,
        RESOURCES,
        [direct("member", ORG), group("agent_creator", ORG), group("audit_reader", ORG, "g2")],
    )[ORG]
    assert access.role == "member"
    assert access.additive == {"agent_creator", "audit_reader"}
    permissions = permissions_of(CATALOG, Scope.ORGANIZATION, access)
    assert {"org.create_agents", "org.view_audit_logs", "org.view_members"} <= permissions
    assert "org.create_projects" not in permissions


def test_permissions_follow_the_seed_002_tables():
    """Spot checks of the default catalog against seed 002."""

    def perms(scope, role):
        return CATALOG.role(scope, role).permissions

    assert "org.manage_billing" in perms(Scope.ORGANIZATION, "owner")
    assert "org.manage_billing" not in perms(Scope.ORGANIZATION, "admin")
    assert "project.edit_assets" in perms(Scope.PROJECT, "editor")
    assert "project.assign_roles" not in perms(Scope.PROJECT, "editor")
    assert "project.access_web_app" not in perms(Scope.PROJECT, "chat")
    assert "project.run_chat" in perms(Scope.PROJECT, "chat")
    assert "asset.run" in perms(Scope.ASSET, "member")
    assert "asset.run" not in perms(Scope.ASSET, "viewer")
    assert "asset.edit" not in perms(Scope.ASSET, "member")


def test_roles_are_case_insensitive_and_unknown_ones_refused():
    """Role names are matched case-insensitively; a name outside the scope is an error."""
    assert CATALOG.role(Scope.PROJECT, "EDITOR").name == "editor"
    with pytest.raises(UnknownRole):
        CATALOG.role(Scope.ASSET, "editor")


def test_a_catalog_naming_an_unknown_cascade_role_is_refused(tmp_path):
    """A deployment's catalog is checked when loaded, not at the first check."""
    broken = tmp_path / "catalog.json"
    text = DEFAULT_CATALOG.read_text()
    assert '"creator_asset_role": "admin"' in text
    broken.write_text(text.replace('"creator_asset_role": "admin"', '"creator_asset_role": "boss"'))
    with pytest.raises(UnknownRole):
        load_catalog(broken)


def test_among_equal_sources_the_winner_does_not_depend_on_their_order():
    """Two assets cascading Viewer to their project, two groups giving one role: one winner.

    The winning source is stored with each access row and compared by verify, which
    evaluates the sources in another order: a tie must be broken the same way every time.
    """
    for sources in (
        [direct("admin", BOT), direct("admin", TOOL)],
        [group("member", WEB, "g2"), group("member", WEB, "g1")],
    ):
        winners = {
            evaluate(CATALOG, RESOURCES, order)[WEB].source
            for order in (sources, list(reversed(sources)))
        }
        assert len(winners) == 1, winners
