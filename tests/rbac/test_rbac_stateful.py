"""Stateful property: after any sequence of IdP and admin changes, incremental = from scratch.

Random sequences of SCIM membership changes, deactivations, deletions, and admin operations
through the one door (direct grants, group assignments, local group membership and nesting,
the default role, the group-roles switch, deleting and remaking projects and assets). After
every step: `verify` finds no drift (the materialised access equals a recomputation from the
base tables), folding the access events from the start reproduces the materialised access, no
admin step left the org without an active Owner, and every IdP step that did wrote the alert.
"""

import os
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from rbac import queries, tenancy
from rbac.admin import grants, principals, resources
from rbac.admin import settings as org_settings
from rbac.changes import active_owners
from rbac.context import Context
from rbac.errors import DomainError
from rbac.evaluation import ResourceKind
from rbac.event_log import read_events
from rbac.models import Group, User
from rbac.resources import find_resource
from tests.conftest import (
    ScimClient,
    examples,
    fold_access_events,
    make_directory,
    materialised_access,
)
from web.db import get_catalog, get_session

STEPS = int(os.environ.get("ROLECALL_STATEFUL_STEPS", "30"))
# 30 examples in the suite, 15 on PostgreSQL (docs/testing.md); `make stateful` runs more.
EXAMPLES = examples("ROLECALL_STATEFUL_EXAMPLES", sqlite=30, postgresql=15)
RESOURCES = ["org", "project:p1", "project:p2", "asset:p1/a1", "asset:p1/a2", "asset:p2/w"]
ROLES = {
    "organization": ["owner", "admin", "member", "viewer", "agent_creator"],
    "project": ["admin", "editor", "member", "chat", "viewer"],
    "asset": ["admin", "member", "viewer"],
}


def _scope(address):
    return {"org": "organization", "project": "project", "asset": "asset"}[
        address.partition(":")[0]
    ]


grant_target = st.sampled_from(RESOURCES).flatmap(
    lambda address: st.tuples(st.just(address), st.sampled_from(ROLES[_scope(address)]))
)


index = st.integers(0, 7)
membership = st.tuples(st.just("membership"), index, index, st.booleans())
assign = st.tuples(st.just("assign"), index, grant_target, st.booleans())
# Repeated alternatives weigh the draw towards what moves group-derived access the most.
operations = st.one_of(
    membership,
    membership,
    membership,
    assign,
    assign,
    st.tuples(st.just("lifecycle"), index, st.sampled_from(["deactivate", "reactivate", "delete"])),
    st.tuples(st.just("direct"), index, grant_target, st.booleans()),
    st.tuples(st.just("nest"), index, index),
    st.tuples(st.just("delete_group"), index),
    st.tuples(st.just("switch"), st.booleans()),
    st.tuples(st.just("new_user")),
    st.tuples(st.just("new_group"), st.lists(index, max_size=3)),
    st.tuples(st.just("local_membership"), st.integers(0, 1), index, st.booleans()),
    st.tuples(st.just("local_nest"), st.integers(0, 1), index, st.booleans()),
    st.tuples(st.just("default_role"), st.sampled_from([None, "viewer", "member", "admin"])),
    st.tuples(st.just("recreate"), st.sampled_from(["project:p1", "asset:p1/a1", "asset:p2/w"])),
)
# Steps an admin takes: the owner rule refuses those that would leave no active Owner.
ADMIN_STEPS = {
    "assign",
    "direct",
    "switch",
    "local_membership",
    "local_nest",
    "default_role",
    "recreate",
}
# What recreating a resource makes again (deleting a project deletes its assets).
REMADE = {
    "project:p1": [("project", "p1"), (ResourceKind.AGENT, "a1"), (ResourceKind.TOOL, "a2")],
    "asset:p1/a1": [(ResourceKind.AGENT, "a1")],
    "asset:p2/w": [(ResourceKind.WORKFORCE, "w")],
}


class AccessMachine(RuleBasedStateMachine):
    """The RBAC engine under random IdP and admin traffic.

    One rule draws one operation from a flat list, so that every kind of change is about as
    likely as any other (separate rules let user creation crowd out the rest).
    """

    def __init__(self, app):
        super().__init__()
        self.app = app
        self.slug = f"org-{uuid.uuid4().hex[:8]}"
        directory = make_directory(app, org_slug=self.slug, name="idp")
        self.scim = ScimClient(app.test_client(), directory.token)
        self.users: list[str] = []
        self.groups: list[str] = []
        self.local_groups: list[str] = []

    @initialize(owner_source=st.sampled_from(["idp_group", "local_group", "direct"]))
    def setup(self, owner_source):
        """Two projects, an agent, a tool, a workforce; four users; three groups with roles."""
        with self._domain() as ctx:
            p1 = resources.create_project(ctx, "p1")
            p2 = resources.create_project(ctx, "p2")
            a1 = resources.create_asset(ctx, p1, ResourceKind.AGENT, "a1")
            resources.create_asset(ctx, p1, ResourceKind.TOOL, "a2")
            resources.create_asset(ctx, p2, ResourceKind.WORKFORCE, "w", uses=[a1])
            for slug in ("local0", "local1"):
                self.local_groups.append(principals.create_local_group(ctx, slug, slug).id)
        for _ in range(4):
            self.new_user()
        self.new_group([0, 1])
        self.new_group([2])
        self.new_group([1, 3])
        self.assign(0, ("project:p1", "editor"), True)
        self.assign(1, ("asset:p1/a1", "member"), True)
        self.assign(2, ("org", "admin"), True)
        # One Owner, through one kind of source, so that steps can take the last one away.
        if owner_source == "idp_group":
            self.assign(1, ("org", "owner"), True)
        elif owner_source == "direct":
            self.direct(2, ("org", "owner"), True)
        else:
            self.local_membership(0, 2, True)
            with self._domain() as ctx:
                local = session_group(ctx, self.local_groups[0])
                grants.give_role(ctx, local, "owner", resources_org(ctx))

    @rule(operation=operations)
    def apply(self, operation):
        """Apply one IdP or admin change; check the owner rule held for it."""
        name, *arguments = operation
        owners_before, alerts_before = self._owners_and_alerts()
        getattr(self, name)(*arguments)
        owners_after, alerts_after = self._owners_and_alerts()
        if owners_before and not owners_after:
            assert name not in ADMIN_STEPS, f"admin step {operation} left no active Owner"
            assert alerts_after == alerts_before + 1, f"IdP step {operation} raised no alert"

    def _owners_and_alerts(self):
        with self._domain(commit=False) as ctx:
            alerts = [
                e
                for e in read_events(ctx.session, ctx.org.id, 0, 1_000_000)
                if e.type == "org.alert.no_active_owner"
            ]
            return active_owners(ctx), len(alerts)

    def _user(self, i):
        return self.users[i % len(self.users)]

    def _group(self, i):
        return self.groups[i % len(self.groups)]

    def new_user(self):
        """The IdP provisions a user."""
        self.users.append(self.scim.create_user(f"user{len(self.users)}")["id"])

    def new_group(self, members):
        """The IdP provisions a group with members (400 if one was deleted meanwhile)."""
        response = self.scim.post(
            "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"group{len(self.groups)}",
                "members": [{"value": self._user(i)} for i in set(members)],
            },
        )
        assert response.status_code in (201, 400)
        if response.status_code == 201:
            self.groups.append(response.get_json()["id"])

    def membership(self, group, user, add):
        """The IdP adds a member to a group, or removes one."""
        user_id = self._user(user)
        if add:
            op = {"op": "add", "path": "members", "value": [{"value": user_id}]}
        else:
            op = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
        status = self.scim.patch(f"/Groups/{self._group(group)}", [op]).status_code
        assert status in (204, 400, 404)

    def lifecycle(self, user, action):
        """The IdP deactivates, reactivates or deletes a user."""
        path = f"/Users/{self._user(user)}"
        if action == "delete":
            assert self.scim.delete(path).status_code in (204, 404)
            return
        op = {"op": "replace", "value": {"active": action == "reactivate"}}
        assert self.scim.patch(path, [op]).status_code in (200, 404)

    def delete_group(self, group):
        """The IdP deletes a group."""
        assert self.scim.delete(f"/Groups/{self._group(group)}").status_code in (204, 404)

    def direct(self, user, role_on, give):
        """An admin grants or revokes a role directly."""
        address, role = role_on
        with self._domain() as ctx:
            row = ctx.session.get(User, self._user(user))
            if row is None:
                return
            operation = grants.give_role if give else grants.take_role
            self._attempt(ctx, operation, row, role, find_resource(ctx.session, ctx.org, address))

    def assign(self, group, role_on, give):
        """An admin assigns a role to a group, or takes it back."""
        address, role = role_on
        with self._domain() as ctx:
            row = ctx.session.get(Group, self._group(group))
            if row is None:
                return
            operation = grants.give_role if give else grants.take_role
            self._attempt(ctx, operation, row, role, find_resource(ctx.session, ctx.org, address))

    def local_membership(self, local, user, add):
        """An admin adds a user to a local group, or removes one."""
        with self._domain() as ctx:
            row = ctx.session.get(User, self._user(user))
            if row is None:
                return
            group = session_group(ctx, self.local_groups[local])
            operation = principals.add_members if add else principals.remove_members
            self._attempt(ctx, operation, group, [row])

    def local_nest(self, local, child, nest):
        """An admin nests a group (IdP or local) in a local group, or takes it out."""
        with self._domain() as ctx:
            row = ctx.session.get(Group, self._group(child))
            if row is None:
                return
            group = session_group(ctx, self.local_groups[local])
            operation = principals.add_members if nest else principals.remove_members
            self._attempt(ctx, operation, group, [row])

    def nest(self, parent, child):
        """The IdP lists a group among another group's members; cycles are refused."""
        child_id = self._group(child)
        op = {"op": "add", "path": "members", "value": [{"value": child_id}]}
        status = self.scim.patch(f"/Groups/{self._group(parent)}", [op]).status_code
        assert status in (204, 400, 404)

    def switch(self, enabled):
        """An admin turns group roles off or on."""
        with self._domain() as ctx:
            self._attempt(ctx, org_settings.set_group_roles_enabled, enabled)

    def default_role(self, role):
        """An admin changes the org's default role."""
        with self._domain() as ctx:
            self._attempt(ctx, org_settings.set_default_role, role)

    def recreate(self, address):
        """An admin deletes a project or an asset (everyone's roles on it go) and makes it anew."""
        with self._domain() as ctx:
            resources.delete_resource(ctx, find_resource(ctx.session, ctx.org, address))
            for kind, slug in REMADE[address]:
                if kind == "project":
                    resources.create_project(ctx, slug)
                    continue
                project_slug = address.partition(":")[2].partition("/")[0]
                project = find_resource(ctx.session, ctx.org, f"project:{project_slug}")
                resources.create_asset(ctx, project, kind, slug)

    @staticmethod
    def _attempt(ctx, operation, *arguments):
        """Run an admin operation; a refusal (a rail) rolls back and changes nothing."""
        try:
            operation(ctx, *arguments)
        except DomainError:
            ctx.session.rollback()

    @invariant()
    def materialised_equals_recomputed_and_folded_events(self):
        """No drift, and the event stream folds to the materialised state."""
        with self._domain(commit=False) as ctx:
            assert queries.verify(ctx) == []
            folded = fold_access_events(ctx.session, ctx.org.id)
            assert folded == materialised_access(ctx.session, ctx.org.id)

    def _domain(self, commit=True):
        machine = self

        class Domain:
            def __enter__(self):
                self.ctx = machine.app.app_context()
                self.ctx.push()
                session = get_session()
                org = tenancy.get_organization(session, machine.slug)
                return Context(session, get_catalog(), org)

            def __exit__(self, exc_type, *args):
                if exc_type is None and commit:
                    get_session().commit()
                self.ctx.pop()

        return Domain()


def session_group(ctx, group_id):
    """The group row of an id, in the context's session."""
    return ctx.session.get(Group, group_id)


def resources_org(ctx):
    """The organization's own resource."""
    return find_resource(ctx.session, ctx.org, "org")


def test_incremental_access_equals_recomputation(app):
    """Random IdP and admin sequences never let materialised access drift."""
    run_state_machine_as_test(
        lambda: AccessMachine(app),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
