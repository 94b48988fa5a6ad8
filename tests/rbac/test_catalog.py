"""The default role catalog is coherent: the rules its readings of seed 002 must keep (no DB)."""

import itertools

import pytest

from rbac.catalog import Scope, load_catalog

CATALOG = load_catalog()
ORG, PROJECT, ASSET = Scope.ORGANIZATION, Scope.PROJECT, Scope.ASSET

# Where a higher role may lack a lower one's permission, and the seed's words that say so.
NOT_MONOTONE = {
    # Seed 002: Chat is "Relevance Chat only - cannot access the web app", while Viewers
    # view outputs in the web app; Chat still ranks above Viewer (it may run a chat).
    (PROJECT, "chat", "project.access_web_app"),
}


def _permissions(scope: Scope, name: str) -> frozenset[str]:
    return CATALOG.role(scope, name).permissions


@pytest.mark.parametrize("scope", list(Scope))
def test_ladders_are_monotone_but_for_the_seeds_exceptions(scope):
    """A higher role holds every permission of the roles below it (highest-wins never lowers)."""
    ladder = CATALOG.ladders[scope]
    for higher, lower in itertools.pairwise(ladder):
        missing = {
            p
            for p in lower.permissions - higher.permissions
            if (scope, higher.name, p) not in NOT_MONOTONE
        }
        assert not missing, f"{scope.value} {higher.name} lacks {lower.name}'s {sorted(missing)}"


def test_org_roles_that_administer_everything_hold_the_org_wide_permissions():
    """Org roles that cascade to Admin everywhere can see every project and delete any asset."""
    for name in CATALOG.cascades.org_roles_admin_everywhere:
        held = _permissions(ORG, name)
        assert {"org.view_all_projects", "org.delete_any_asset", "org.create_projects"} <= held


def test_project_roles_that_administer_assets_hold_what_asset_admin_implies():
    """A project role that cascades to asset Admin holds the project-level twin of each right."""
    asset_admin = _permissions(ASSET, CATALOG.highest(ASSET).name)
    twins = {
        "asset.delete": "project.delete_agents",
        "asset.edit": "project.edit_assets",
        "asset.view": "project.view_all_assets",
    }
    for name in CATALOG.cascades.project_roles_admin_of_assets:
        held = _permissions(PROJECT, name)
        for asset_permission, project_permission in twins.items():
            assert asset_permission in asset_admin
            assert project_permission in held, f"project {name} lacks {project_permission}"


def test_the_owner_has_full_control():
    """Seed 002: the Owner has "full control": every org permission any org role holds."""
    every_org_permission = {p for p in CATALOG.permissions() if p.startswith("org.")}
    assert _permissions(ORG, "owner") == every_org_permission


def test_viewer_and_member_may_use_the_web_app_and_chat_may_not():
    """Only Chat "cannot access the web app" (seed 002)."""
    for name in ("admin", "editor", "member", "viewer"):
        assert "project.access_web_app" in _permissions(PROJECT, name)
    assert "project.access_web_app" not in _permissions(PROJECT, "chat")


def test_the_implied_and_creator_roles_exist_and_every_role_is_described():
    """Cascades name real roles, and each role carries the seed's capability text."""
    assert CATALOG.role(PROJECT, CATALOG.cascades.asset_role_implies_project_role)
    assert CATALOG.role(ASSET, CATALOG.cascades.creator_asset_role)
    for scope in Scope:
        for role in (*CATALOG.ladders[scope], *CATALOG.additive[scope]):
            assert role.description, f"{scope.value}:{role.name} has no description"


def test_the_workforce_rule_names_run_edit_and_view_only():
    """Seed 002's workforce table concerns running, editing and viewing."""
    assert CATALOG.workforce_permissions == {
        "asset.run",
        "asset.edit",
        "asset.view",
        "asset.view_outputs",
    }
