"""Stateful property: after any sequence of IdP and admin changes, incremental = from scratch.

Random sequences of SCIM membership changes, deactivations, deletions, direct grants, group
assignments, nesting and the group-roles switch. After every step: `verify` finds no drift
(the materialised access equals a recomputation from the base tables) and folding the
access events from the start reproduces the materialised access.
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
from sqlalchemy import select

from app.db import get_catalog, get_session
from rbac import assignments, queries, tenancy
from rbac.access import find_resource, read_events
from rbac.errors import Refused
from rbac.evaluation import ResourceKind
from rbac.models import EffectiveAccess, Group, User
from tests.conftest import ScimClient, make_directory

STEPS = int(os.environ.get("ROLECALL_STATEFUL_STEPS", "30"))
EXAMPLES = int(os.environ.get("ROLECALL_STATEFUL_EXAMPLES", "60"))
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
)


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

    @initialize()
    def setup(self):
        """Two projects, an agent, a tool, a workforce; four users; three groups with roles."""
        with self._domain() as (session, catalog, org):
            p1 = assignments.create_project(session, catalog, org, "p1", "test")
            p2 = assignments.create_project(session, catalog, org, "p2", "test")
            a1 = assignments.create_asset(session, catalog, org, p1, ResourceKind.AGENT, "a1", "t")
            assignments.create_asset(session, catalog, org, p1, ResourceKind.TOOL, "a2", "t")
            assignments.create_asset(
                session, catalog, org, p2, ResourceKind.WORKFORCE, "w", "t", uses=[a1]
            )
        for _ in range(4):
            self.new_user()
        self.new_group([0, 1])
        self.new_group([2])
        self.new_group([1, 3])
        self.assign(0, ("project:p1", "editor"), True)
        self.assign(1, ("asset:p1/a1", "member"), True)
        self.assign(2, ("org", "admin"), True)

    @rule(operation=operations)
    def apply(self, operation):
        """Apply one IdP or admin change."""
        name, *arguments = operation
        getattr(self, name)(*arguments)

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
        with self._domain() as (session, catalog, org):
            row = session.get(User, self._user(user))
            if row is None:
                return
            operation = assignments.grant_role if give else assignments.revoke_role
            try:
                operation(
                    session, catalog, org, row, role, find_resource(session, org, address), "t"
                )
            except Refused:
                session.rollback()

    def assign(self, group, role_on, give):
        """An admin assigns a role to a group, or takes it back."""
        address, role = role_on
        with self._domain() as (session, catalog, org):
            row = session.get(Group, self._group(group))
            if row is None:
                return
            operation = assignments.assign_group if give else assignments.unassign_group
            try:
                operation(
                    session, catalog, org, row, role, find_resource(session, org, address), "t"
                )
            except Refused:
                session.rollback()

    def nest(self, parent, child):
        """An admin puts a group inside another; cycles are refused."""
        with self._domain() as (session, catalog, org):
            parent_row = session.get(Group, self._group(parent))
            child_row = session.get(Group, self._group(child))
            if parent_row is None or child_row is None:
                return
            try:
                assignments.add_child_group(session, catalog, org, parent_row, child_row, "t")
            except Refused:
                session.rollback()

    def switch(self, enabled):
        """An admin turns group roles off or on."""
        with self._domain() as (session, catalog, org):
            assignments.set_group_roles_enabled(session, catalog, org, enabled, "t")

    @invariant()
    def materialised_equals_recomputed_and_folded_events(self):
        """No drift, and the event stream folds to the materialised state."""
        with self._domain(commit=False) as (session, catalog, org):
            drift = queries.verify(session, catalog, org)
            assert drift == []
            folded = {}
            for event in read_events(session, org.id, 0, 1_000_000):
                if not event.type.startswith("access."):
                    continue
                key = (event.data["user_id"], event.data["resource_id"])
                folded[key] = (event.data["new_role"], tuple(event.data["new_additive"]))
                if folded[key] == (None, ()):
                    del folded[key]
            rows = session.scalars(
                select(EffectiveAccess).where(EffectiveAccess.organization_id == org.id)
            )
            assert folded == {(r.user_id, r.resource_id): (r.role, tuple(r.additive)) for r in rows}

    def _domain(self, commit=True):
        machine = self

        class Context:
            def __enter__(self):
                self.ctx = machine.app.app_context()
                self.ctx.push()
                session = get_session()
                return session, get_catalog(), tenancy.get_organization(session, machine.slug)

            def __exit__(self, exc_type, *args):
                if exc_type is None and commit:
                    get_session().commit()
                self.ctx.pop()

        return Context()


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
