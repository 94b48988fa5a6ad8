"""rbac.listing on a real database: page boundaries and the organization's scope."""

import pytest

from rbac import listing, tenancy
from rbac.errors import NotFound
from rbac.holdings import GRANTS
from rbac.models import Group, User
from rbac.resources import find_resource
from tests.conftest import make_directory
from web.db import get_catalog, get_session


def test_a_page_of_exactly_limit_rows_has_no_more(world, app):
    """`limit` rows of `limit`: no more, the last id as cursor; after it, an empty page."""
    with app.app_context():
        session = get_session()
        org = tenancy.get_organization(session, "acme")
        web = find_resource(session, org, "project:web")
        assets = listing.children_page(session, org, web, limit=2)
        assert [asset.slug for asset in assets.items] == ["bot", "search"]
        assert assets.has_more is False and assets.next_cursor == assets.items[-1].id
        first = listing.children_page(session, org, web, limit=1)
        assert first.has_more is True and first.next_cursor == first.items[0].id
        rest = listing.children_page(session, org, web, after=first.next_cursor, limit=1)
        assert [asset.slug for asset in rest.items] == ["search"] and rest.has_more is False
        empty = listing.children_page(session, org, web, after=assets.next_cursor, limit=2)
        assert empty == listing.Page([], None, False)


def test_another_organizations_rows_are_never_read(world, app):
    """Given another org, a grant is not found and a group's members are not counted."""
    alice = world.user("alice")
    engineering = world.group("Engineering", alice)
    world.ok("grant", "--org", "acme", "--user", "alice", "--role", "viewer", "asset:web/bot")
    make_directory(app, org_slug="globex", name="entra")
    with app.app_context():
        session = get_session()
        acme = tenancy.get_organization(session, "acme")
        globex = tenancy.get_organization(session, "globex")
        bot = find_resource(session, acme, "asset:web/bot")
        user, group = session.get(User, alice), session.get(Group, engineering)

        grant, holder, resource = listing.grant_of(
            session, get_catalog(), acme, user, "Viewer", bot
        )
        assert (holder, resource, grant.role) == (user, bot, "viewer")
        assert listing.held_by_id(session, acme, GRANTS, grant.id) == (grant, user, bot)
        with pytest.raises(NotFound, match=f"no grant {grant.id} in organization 'globex'"):
            listing.held_by_id(session, globex, GRANTS, grant.id)
        assert listing.grants_page(session, globex, limit=10).items == []

        assert listing.member_counts(session, acme, [engineering]) == {engineering: 1}
        assert listing.member_counts(session, globex, [engineering]) == {engineering: 0}
        assert listing.direct_members(session, acme, group, 10).users == [(alice, "alice")]
        assert listing.direct_members(session, globex, group, 10) == listing.Members([], [], False)
