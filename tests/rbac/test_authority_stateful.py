"""Stateful property: no admin ever makes anyone gain or lose a role its own roles do not cover.

Random admin operations (direct grants, group assignments, local memberships and nesting,
deactivation, the default role, the group-roles switch), each made by one of four actors: an
org Admin, a project Admin, an asset Admin and a Viewer, who are themselves among the users
operated on. Before each step the whole materialised access and the actor's permissions are
read; after it, every role that anyone gained or lost must be one the actor could give on
that resource before the step: the scope's assign-roles permission and every permission of
the role (the project Viewer role that an asset role implies follows from the asset role).
A refused step must change nothing.
"""

import os
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy import select

from rbac import tenancy
from rbac.admin import grants, principals, resources
from rbac.admin import settings as org_settings
from rbac.catalog import Scope
from rbac.context import Context, user_actor
from rbac.errors import DomainError
from rbac.evaluation import Access, ResourceKind, permissions_of
from rbac.models import EffectiveAccess, Group, Resource, User
from rbac.resources import find_resource
from web.db import get_catalog, get_session

STEPS = int(os.environ.get("ROLECALL_STATEFUL_STEPS", "20"))
# 20 examples in the suite (docs/testing.md); `make stateful` runs more.
EXAMPLES = int(os.environ.get("ROLECALL_AUTHORITY_EXAMPLES", "20"))
RESOURCES = ["org", "project:p1", "project:p2", "asset:p1/a1", "asset:p2/a2"]
ROLES = {
    "organization": ["owner", "admin", "member", "viewer", "directory_manager", "agent_creator"],
    "project": ["admin", "editor", "member", "viewer"],
    "asset": ["admin", "member", "viewer"],
}
ACTORS = ["orgadmin", "projadmin", "assetadmin", "viewer"]
PEOPLE = [*ACTORS, "owner1", "owner2", "u1", "u2"]
GROUPS = ["g0", "g1", "g2", "g3"]


def _scope(address):
    return {"org": "organization", "project": "project", "asset": "asset"}[
        address.partition(":")[0]
    ]


role_on = st.sampled_from(RESOURCES).flatmap(
    lambda address: st.tuples(st.just(address), st.sampled_from(ROLES[_scope(address)]))
)
person = st.sampled_from(PEOPLE)
group = st.sampled_from(GROUPS)
operations = st.one_of(
    st.tuples(st.just("grant"), person, role_on, st.booleans()),
    st.tuples(st.just("assign"), group, role_on, st.booleans()),
    st.tuples(st.just("member"), group, person, st.booleans()),
    st.tuples(st.just("member"), group, person, st.booleans()),
    st.tuples(st.just("nest"), group, group, st.booleans()),
    st.tuples(st.just("active"), person, st.booleans()),
    st.tuples(st.just("default_role"), st.sampled_from([None, "viewer", "member", "admin"])),
    st.tuples(st.just("switch"), st.booleans()),
)


class AuthorityMachine(RuleBasedStateMachine):
    """Four admins of different reach, operating on each other and on everyone else."""

    def __init__(self, app):
        super().__init__()
        self.app = app
        self.slug = f"org-{uuid.uuid4().hex[:8]}"
        with app.app_context():
            session = get_session()
            tenancy.create_organization(session, self.slug)
            session.commit()

    @initialize()
    def setup(self):
        """Two projects with an asset each; two Owners; four local groups, two holding roles."""
        with self._as(None) as ctx:
            p1 = resources.create_project(ctx, "p1")
            p2 = resources.create_project(ctx, "p2")
            resources.create_asset(ctx, p1, ResourceKind.AGENT, "a1")
            resources.create_asset(ctx, p2, ResourceKind.TOOL, "a2")
            for name in PEOPLE:
                principals.create_local_user(ctx, name)
            for name in GROUPS:
                principals.create_local_group(ctx, name, name)
            for name, role, address in [
                ("owner1", "owner", "org"),
                ("owner2", "owner", "org"),
                ("orgadmin", "admin", "org"),
                ("projadmin", "admin", "project:p1"),
                ("assetadmin", "admin", "asset:p1/a1"),
            ]:
                grants.give_role(ctx, self._user(ctx, name), role, self._resource(ctx, address))
            org = self._resource(ctx, "org")
            grants.give_role(ctx, self._group(ctx, "g0"), "owner", org)
            grants.give_role(ctx, self._group(ctx, "g1"), "directory_manager", org)

    @rule(actor=st.sampled_from(ACTORS), operation=operations)
    def act(self, actor, operation):
        """One admin operation by one actor, judged against what that actor held before."""
        name, *arguments = operation
        with self._as(actor) as ctx:
            before = self._access(ctx)
            held = self._held(ctx, before)
            try:
                getattr(self, name)(ctx, *arguments)
                ctx.session.flush()
            except DomainError:
                ctx.session.rollback()
                assert self._access(ctx) == before, f"refused {operation} changed access"
                return
            after = self._access(ctx)
            for user_id, resource_id in before.keys() | after.keys():
                old = _roles(before.get((user_id, resource_id)))
                new = _roles(after.get((user_id, resource_id)))
                resource = ctx.session.get(Resource, resource_id)
                scope = ResourceKind(resource.kind).scope
                for role in old ^ new:
                    if scope == Scope.PROJECT and role == "viewer":
                        continue  # implied by an asset role, itself judged
                    needed = ctx.catalog.role(scope, role).permissions | {
                        ctx.catalog.administration.assign_roles[scope]
                    }
                    assert needed <= held.get(resource_id, frozenset()), (
                        f"{actor}'s {operation} made {user_id} "
                        f"{'gain' if role in new else 'lose'} {role} on {resource.slug}"
                    )

    def grant(self, ctx, name, role_on, give):
        """A direct grant given or taken back."""
        address, role = role_on
        operation = grants.give_role if give else grants.take_role
        operation(ctx, self._user(ctx, name), role, self._resource(ctx, address))

    def assign(self, ctx, group_name, role_on, give):
        """A group's role given or taken back."""
        address, role = role_on
        operation = grants.give_role if give else grants.take_role
        operation(ctx, self._group(ctx, group_name), role, self._resource(ctx, address))

    def member(self, ctx, group_name, name, add):
        """A user added to a local group or removed from it."""
        operation = principals.add_members if add else principals.remove_members
        operation(ctx, self._group(ctx, group_name), [self._user(ctx, name)])

    def nest(self, ctx, parent, child, add):
        """A local group nested in another, or taken out."""
        operation = principals.add_members if add else principals.remove_members
        operation(ctx, self._group(ctx, parent), [self._group(ctx, child)])

    def active(self, ctx, name, active):
        """A local user deactivated or reactivated."""
        principals.set_local_user_active(ctx, self._user(ctx, name), active, confirmed=True)

    def default_role(self, ctx, role):
        """The organization's default role changed."""
        org_settings.set_default_role(ctx, role)

    def switch(self, ctx, enabled):
        """Group roles switched off or on."""
        org_settings.set_group_roles_enabled(ctx, enabled)

    def _access(self, ctx) -> dict:
        rows = ctx.session.execute(
            select(
                EffectiveAccess.user_id,
                EffectiveAccess.resource_id,
                EffectiveAccess.role,
                EffectiveAccess.additive,
            ).where(EffectiveAccess.organization_id == ctx.org.id)
        )
        return {(u, r): (role, tuple(sorted(additive))) for u, r, role, additive in rows}

    def _held(self, ctx, access) -> dict[int, frozenset[str]]:
        """The acting user's permissions on each resource, from a snapshot of access."""
        held = {}
        for (user_id, resource_id), (role, additive) in access.items():
            if user_id != ctx.actor.user_id:
                continue
            scope = ResourceKind(ctx.session.get(Resource, resource_id).kind).scope
            held[resource_id] = permissions_of(
                ctx.catalog, scope, Access(role, None, frozenset(additive))
            )
        return held

    @staticmethod
    def _user(ctx, name) -> User:
        return ctx.session.scalar(
            select(User).where(User.organization_id == ctx.org.id, User.user_name == name)
        )

    @staticmethod
    def _group(ctx, slug) -> Group:
        return ctx.session.scalar(
            select(Group).where(Group.organization_id == ctx.org.id, Group.slug == slug)
        )

    @staticmethod
    def _resource(ctx, address) -> Resource:
        return find_resource(ctx.session, ctx.org, address)

    def _as(self, actor_name):
        machine = self

        class Acting:
            def __enter__(self):
                self.app_context = machine.app.app_context()
                self.app_context.push()
                session = get_session()
                org = tenancy.get_organization(session, machine.slug)
                ctx = Context(session, get_catalog(), org)
                if actor_name is not None:
                    actor = user_actor(machine._user(ctx, actor_name).id)
                    ctx = Context(session, get_catalog(), org, actor)
                return ctx

            def __exit__(self, exc_type, *args):
                if exc_type is None:
                    get_session().commit()
                self.app_context.pop()

        return Acting()


def _roles(row) -> set[str]:
    if row is None:
        return set()
    role, additive = row
    return {role, *additive} - {None}


def test_no_admin_moves_a_role_beyond_its_own(app):
    """Random admin operations by four actors never move a role the actor could not give."""
    run_state_machine_as_test(
        lambda: AuthorityMachine(app),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
