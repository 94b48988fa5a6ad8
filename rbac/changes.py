"""The one door: every change of the RBAC model, from an IdP or an admin, is applied here.

`apply_changes` takes what an operation changed in the base tables (directory changes from
provisioning, admin changes from `rbac.admin`), records each change's event, recomputes
exactly the users whose access it may change (`rbac.recompute`), and applies the rules that
concern the result, once, from what the recomputation saw:

- **authority over the outcome**: every role the change gave or took, by whatever route,
  must be one the acting admin could give or take before the change (`rbac.authorization`);
- **the owner rule**: a change that takes the top org role from someone and leaves no active
  Owner is refused if an admin made it; an IdP's change is applied (the IdP is the authority on
  who is still employed) and raises `org.alert.no_active_owner`;
- **losing one's own access**: an admin change that takes the acting admin's own top role on a
  resource needs `confirmed=True`.

It flushes and never commits: a refusal raised here rolls the caller's transaction back.
"""

from sqlalchemy import func, select

from rbac import facts
from rbac.authorization import access_before, judge_outcome
from rbac.catalog import Scope
from rbac.context import Context
from rbac.errors import NeedsConfirmation, Refused
from rbac.evaluation import ResourceKind
from rbac.event_log import record_event, record_events
from rbac.handlers import HANDLERS, Objects
from rbac.models import EffectiveAccess, Resource
from rbac.payloads import NoActiveOwner, person_of_directory_user
from rbac.recompute import AccessDiff, Cause, recompute
from rbac.resources import org_resource

_DELETIONS = ("user_deleted", "group_deleted")


def apply_changes(ctx: Context, changes: list, *, confirmed: bool = False) -> list[AccessDiff]:
    """Record changes' events, recompute the users they affect, apply the rules; return diffs."""
    if not changes:
        return []
    objects = Objects(ctx, changes)
    affected: dict[Cause, set[str]] = {}
    seen: set[str] = set()
    gone: set[int] = set()
    recorded: list[tuple[str, object]] = []  # (type, payload): the log adds the actor
    named_otherwise: set[str] = set()  # users some change other than their creation names
    effects = [(change, HANDLERS[type(change)](ctx, change, objects)) for change in changes]
    for _, effect in effects:
        gone |= effect.gone
        if effect.event is not None:
            recorded.append(effect.event)
    # A user's access changes are given the cause of the first change that names them, but a
    # deletion comes first: it explains the membership removals and unnestings it implies.
    for change, effect in sorted(effects, key=lambda pair: pair[1].cause not in _DELETIONS):
        if effect.cause is None:
            continue
        if not isinstance(change, facts.UserCreated):
            named_otherwise.update(effect.users)
        users = {u for u in effect.users if u and u not in seen}
        seen |= users
        cause = Cause(effect.cause, ctx.actor.label, effect.detail)
        affected.setdefault(cause, set()).update(users)
    fresh = {
        c.user_id: objects.users[c.user_id]["state"] == "active"
        for c in changes
        if isinstance(c, facts.UserCreated)
        and c.user_id in objects.users
        and c.user_id not in named_otherwise
    }
    named = objects.user_snapshots | objects.users
    people = {
        u: person_of_directory_user(directory_object) for u, directory_object in named.items()
    }
    before = access_before(ctx, seen)
    diffs = [
        diff
        for cause, users in affected.items()
        for diff in recompute(ctx, users, cause, people, gone, fresh, recorded)
    ]
    # Every event of the change in one statement, as late as possible: on PostgreSQL the first
    # event takes the organization's event lock (rbac.event_log), held until commit. Locks are
    # taken in one order, the users' (recompute) then the organization's, so one call per
    # transaction (every caller's case) cannot deadlock against another.
    record_events(ctx.session, ctx.org.id, recorded, ctx.actor.label)
    created = {c.resource_id for c in changes if isinstance(c, facts.ResourceCreated)}
    judge_outcome(ctx, diffs, before, exempt=gone | created)
    _owner_rule(ctx, diffs)
    if not confirmed:  # deleting a resource is not losing one's access to it by mistake
        _own_access_rule(ctx, [diff for diff in diffs if diff.resource_id not in gone])
    return diffs


def active_owners(ctx: Context) -> int:
    """Return how many active users hold the top org role (deactivated users hold nothing)."""
    return ctx.session.scalar(
        select(func.count()).where(
            EffectiveAccess.resource_id == org_resource(ctx.session, ctx.org).id,
            EffectiveAccess.role == ctx.catalog.highest(Scope.ORGANIZATION).name,
        )
    )


def _owner_rule(ctx: Context, diffs: list[AccessDiff]) -> None:
    top = ctx.catalog.highest(Scope.ORGANIZATION).name
    losses = {d.resource_id for d in diffs if d.old_role == top != d.new_role}
    if not losses or org_resource(ctx.session, ctx.org).id not in losses or active_owners(ctx):
        return
    if ctx.actor.is_idp:
        alert = NoActiveOwner()
        record_event(ctx.session, ctx.org.id, "org.alert.no_active_owner", alert, ctx.actor.label)
        return
    raise Refused("that would leave the organization without an active Owner")


def _own_access_rule(ctx: Context, diffs: list[AccessDiff]) -> None:
    if ctx.actor.user_id is None:
        return
    for diff in diffs:
        if diff.user_id != ctx.actor.user_id or diff.old_role is None:
            continue
        scope = _scope_of(ctx, diff.resource_id)
        top = ctx.catalog.highest(scope).name
        if diff.old_role == top != diff.new_role:
            raise NeedsConfirmation(f"you would lose your own {top} role on this resource: confirm")


def _scope_of(ctx: Context, resource_id: int) -> Scope:
    return ResourceKind(ctx.session.get(Resource, resource_id).kind).scope
