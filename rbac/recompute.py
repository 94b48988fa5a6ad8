"""Materialised effective access, kept up to date user by user, with one event per change.

`recompute` evaluates exactly the users a change names from the base tables
(`rbac.user_access`), diffs the result with `effective_access`, writes the difference and one
`access.granted|changed|revoked` event per changed (user, resource), in the caller's
transaction, and returns the differences. It never scans a group's other members or the
organization's other users.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from rbac.context import Context
from rbac.event_log import record_event
from rbac.models import EffectiveAccess, Resource, User, UserEmail
from rbac.payloads import person
from rbac.resources import resource_path
from rbac.user_access import evaluate_users
from rbac.wording import SourceWords


@dataclass(frozen=True)
class Cause:
    """Why access changed, and who caused it (a SCIM request's correlation id, an admin)."""

    kind: str
    actor: str
    detail: tuple[tuple[str, str | int], ...] = ()

    def as_dict(self) -> dict:
        """Return the cause as event data."""
        return {"type": self.kind, "actor": self.actor, **dict(self.detail)}


@dataclass(frozen=True)
class AccessDiff:
    """One user's primary role on one resource, before and after a recomputation."""

    user_id: str
    resource_id: int
    old_role: str | None
    new_role: str | None


def recompute(
    ctx: Context,
    user_ids: Iterable[str],
    cause: Cause,
    people: dict[str, dict] | None = None,
    gone: Iterable[int] = (),
) -> list[AccessDiff]:
    """Bring these users' materialised access up to date; write one event per change.

    `people` names users whose rows are already deleted (from their deletion's snapshot);
    `gone` names resources being deleted, on which nobody keeps any access.
    """
    session, org = ctx.session, ctx.org
    user_ids = set(user_ids)
    if not user_ids:
        return []
    # Concurrent requests may change one user's access through different groups (Entra sends
    # several PATCHes at once). Lock the users, in a fixed order, so that each recomputation
    # reads what the previous one committed (PostgreSQL; SQLite has one writer at a time).
    # NO KEY UPDATE: the membership insert already holds KEY SHARE on the user through its
    # foreign key, and FOR UPDATE would deadlock against another request's KEY SHARE.
    session.execute(
        select(User.id)
        .where(User.id.in_(sorted(user_ids)))
        .order_by(User.id)
        .with_for_update(key_share=True)
    )
    evaluated = evaluate_users(ctx, user_ids)
    current: dict[tuple[str, int], EffectiveAccess] = {
        (row.user_id, row.resource_id): row
        for row in session.scalars(
            select(EffectiveAccess).where(EffectiveAccess.user_id.in_(user_ids))
        )
    }
    gone = set(gone)
    wanted = {
        (user_id, resource_id): access
        for user_id, by_resource in evaluated.access.items()
        for resource_id, access in by_resource.items()
        if resource_id not in gone
    }
    resources = dict(evaluated.resources)
    missing = {rid for _, rid in current.keys() - wanted.keys()} - resources.keys()
    if missing:
        resources.update(
            {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(missing)))}
        )

    words = SourceWords(session, [a.source for a in wanted.values()], resources)
    diffs: list[AccessDiff] = []
    pending_events: list[tuple[str, dict]] = []
    for key in sorted(current.keys() | wanted.keys()):
        user_id, resource_id = key
        row, access = current.get(key), wanted.get(key)
        old = (row.role, sorted(row.additive)) if row else (None, [])
        new = (access.role, sorted(access.additive)) if access else (None, [])
        source = words.label(access.source) if access else None
        if old == new:
            if row is not None:
                row.source = source
            continue
        if access is None:
            session.delete(row)
            kind = "access.revoked"
        elif row is None:
            session.add(
                EffectiveAccess(
                    user_id=user_id,
                    resource_id=resource_id,
                    organization_id=org.id,
                    role=access.role,
                    additive=new[1],
                    source=source,
                )
            )
            kind = "access.granted"
        else:
            row.role, row.additive, row.source = access.role, new[1], source
            kind = "access.changed"
        resource = resources.get(resource_id)
        pending_events.append(
            (
                kind,
                {
                    "user_id": user_id,
                    "resource_id": resource_id,
                    "resource": resource_path(resource, resources) if resource else None,
                    "old_role": old[0],
                    "new_role": new[0],
                    "old_additive": old[1],
                    "new_additive": new[1],
                    "source": source,
                    "cause": cause.as_dict(),
                },
            )
        )
        diffs.append(AccessDiff(user_id, resource_id, old[0], new[0]))

    named = _people({d.user_id for d in diffs}, ctx, people or {})
    for kind, data in pending_events:
        record_event(session, org.id, kind, {"user": named[data["user_id"]], **data})
    session.flush()
    return diffs


def _people(user_ids: set[str], ctx: Context, known: dict[str, dict]) -> dict[str, dict]:
    """Name users for events: from their rows (two column queries), or a deletion's snapshot."""
    emails: dict[str, list] = {}
    for user_id, value, primary in ctx.session.execute(
        select(UserEmail.user_id, UserEmail.value, UserEmail.primary).where(
            UserEmail.user_id.in_(user_ids)
        )
    ):
        emails.setdefault(user_id, []).append((value, bool(primary)))
    rows = ctx.session.execute(select(User.id, User.user_name).where(User.id.in_(user_ids)))
    named = {u: person(u, name, emails.get(u, [])) for u, name in rows}
    return {u: named.get(u) or known.get(u) or {"id": u} for u in user_ids}
