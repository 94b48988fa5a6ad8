"""Materialised effective access, kept up to date user by user, with one event per change.

`recompute` evaluates exactly the users a change names from the base tables
(`rbac.user_access`), diffs the result with `effective_access`, writes the difference and one
`access.granted|changed|revoked` event per changed (user, resource), in the caller's
transaction, and returns the differences. It never scans a group's other members or the
organization's other users.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Text, cast, delete, select, update
from sqlalchemy.orm import Session

from rbac.bulk import among, insert_rows, rows_by_id
from rbac.context import Context
from rbac.event_log import record_events
from rbac.models import EffectiveAccess, Resource, User, UserEmail
from rbac.payloads import AccessChange, person
from rbac.resources import resource_path
from rbac.user_access import evaluate_users, users_active
from rbac.wording import SourceWords

ACCESS = EffectiveAccess.__table__


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
    """One user's roles on one resource, before and after a recomputation."""

    user_id: str
    resource_id: int
    old_role: str | None
    new_role: str | None
    old_additive: tuple[str, ...] = ()
    new_additive: tuple[str, ...] = ()


def recompute(
    ctx: Context,
    user_ids: Iterable[str],
    cause: Cause,
    people: dict[str, dict] | None = None,
    gone: Iterable[int] = (),
    fresh: dict[str, bool] | None = None,
    events: list[tuple[str, object]] | None = None,
) -> list[AccessDiff]:
    """Bring these users' materialised access up to date; write one event per change.

    `people` names users known already (loaded by the change, or deleted: from a snapshot);
    `gone` names resources being deleted, on which nobody keeps any access; `fresh` gives the
    active flag of users created by this transaction and changed by nothing else in it (no
    grant, membership or access row can name them yet, so none is read). The events are
    appended to `events` when it is given (the caller records them), else recorded here.
    """
    session, org = ctx.session, ctx.org
    user_ids = set(user_ids)
    if not user_ids:
        return []
    fresh = {u: active for u, active in (fresh or {}).items() if u in user_ids}
    # Concurrent requests may change one user's access through different groups (Entra sends
    # several PATCHes at once). Lock the users, in a fixed order, so that each recomputation
    # reads what the previous one committed (PostgreSQL; SQLite has one writer at a time).
    # NO KEY UPDATE: the membership insert already holds KEY SHARE on the user through its
    # foreign key, and FOR UPDATE would deadlock against another request's KEY SHARE.
    # Nobody else sees a fresh user before this transaction commits: it needs no lock.
    existing = user_ids - fresh.keys()
    active = dict(fresh)
    if existing:
        locked = users_active(ctx, existing).order_by(User.id).with_for_update(key_share=True)
        active |= dict(session.execute(locked).all())
    evaluated = evaluate_users(ctx, user_ids, active, fresh=fresh.keys())
    current = _materialised(session, existing)
    gone = set(gone)
    wanted = {
        (user_id, resource_id): access
        for user_id, by_resource in evaluated.access.items()
        for resource_id, access in by_resource.items()
        if resource_id not in gone
    }
    resources = dict(evaluated.resources)
    missing = {rid for _, rid in current.keys() - wanted.keys()} - resources.keys()
    resources |= rows_by_id(session, Resource, missing)

    words = SourceWords(session, {a.source for a in wanted.values()}, resources)
    labels: dict = {}
    why = cause.as_dict()  # one document, shared by this recomputation's events
    writes = _Writes()
    diffs: list[AccessDiff] = []
    pending: list[tuple] = []  # each event, until its user is named
    for key in sorted(current.keys() | wanted.keys()):
        user_id, resource_id = key
        row, access = current.get(key), wanted.get(key)
        old = row[:2] if row else (None, [])
        new = (access.role, sorted(access.additive)) if access else (None, [])
        if access is not None and access.source not in labels:
            labels[access.source] = words.label(access.source)
        source = labels[access.source] if access else None
        if old == new:
            if row is not None and row[2] != source:
                writes.update(key, new, source)
            continue
        if access is None:
            writes.delete(key)
            kind = "access.revoked"
        elif row is None:
            writes.insert(key, new, source, org.id)
            kind = "access.granted"
        else:
            writes.update(key, new, source)
            kind = "access.changed"
        resource = resources.get(resource_id)
        address = resource_path(resource, resources) if resource else None
        pending.append((kind, user_id, resource_id, address, old, new, source))
        diffs.append(AccessDiff(user_id, resource_id, old[0], new[0], tuple(old[1]), tuple(new[1])))

    writes.apply(session, user_ids)
    named = _people({d.user_id for d in diffs}, ctx, people or {})
    access_events = [
        (kind, AccessChange(named[u], u, r, address, old[0], new[0], old[1], new[1], source, why))
        for kind, u, r, address, old, new, source in pending
    ]
    if events is None:
        record_events(session, org.id, access_events, cause.actor)
    else:
        events += access_events
    return diffs


def _materialised(session: Session, user_ids: set[str]) -> dict[tuple[str, int], tuple]:
    """Return users' materialised access rows: (user, resource) -> (role, additive, source)."""
    if not user_ids:
        return {}
    # Additive roles read as text and decoded only when there are some: most rows have none,
    # and decoding 20 000 empty JSON lists was a fifth of a 10 000-member group's change.
    rows = session.execute(
        select(
            ACCESS.c.user_id,
            ACCESS.c.resource_id,
            ACCESS.c.role,
            cast(ACCESS.c.additive, Text),
            ACCESS.c.source,
        ).where(among(session, ACCESS.c.user_id, user_ids))
    )
    return {
        (user_id, resource_id): (
            role,
            [] if additive == "[]" else sorted(json.loads(additive)),
            source,
        )
        for user_id, resource_id, role, additive, source in rows
    }


class _Writes:
    """The rows a recomputation inserts, updates and deletes, written a few statements at a time.

    Deletes and updates are grouped by resource and new value, since a change usually gives
    many users the same (`rbac.bulk` passes each set of users as one parameter).
    """

    def __init__(self):
        self.inserted: list[dict] = []
        self.updated: dict[tuple, list[str]] = {}
        self.deleted: dict[int, list[str]] = {}

    def insert(self, key, new, source, org_id) -> None:
        """Add a row to insert."""
        self.inserted.append(
            {
                "user_id": key[0],
                "resource_id": key[1],
                "organization_id": org_id,
                "role": new[0],
                "additive": new[1],
                "source": source,
            }
        )

    def update(self, key, new, source) -> None:
        """Add a row to update."""
        values = (key[1], new[0], tuple(new[1]), source)
        self.updated.setdefault(values, []).append(key[0])

    def delete(self, key) -> None:
        """Add a row to delete."""
        self.deleted.setdefault(key[1], []).append(key[0])

    def apply(self, session: Session, user_ids: set[str]) -> None:
        """Write the rows, then forget these users' rows the session had loaded."""
        session.flush()  # whatever the ORM holds (the change's own rows) goes first
        # One statement per resource (a group's change) or per user (a user deactivated or
        # deleted loses every resource at once), whichever is fewer.
        by_user: dict[str, list[int]] = {}
        for resource_id, users in self.deleted.items():
            for user_id in users:
                by_user.setdefault(user_id, []).append(resource_id)
        if len(by_user) < len(self.deleted):
            deletes = [(ACCESS.c.user_id, u, ACCESS.c.resource_id, r) for u, r in by_user.items()]
        else:
            deletes = [
                (ACCESS.c.resource_id, r, ACCESS.c.user_id, u) for r, u in self.deleted.items()
            ]
        for fixed, value, listed, values in deletes:
            session.execute(delete(ACCESS).where(fixed == value, among(session, listed, values)))
        for (resource_id, role, additive, source), users in self.updated.items():
            session.execute(
                update(ACCESS)
                .where(ACCESS.c.resource_id == resource_id, among(session, ACCESS.c.user_id, users))
                .values(role=role, additive=list(additive), source=source)
            )
        if self.inserted:
            insert_rows(session, ACCESS, self.inserted)
        for identity in [k for k in session.identity_map if k[0] is EffectiveAccess]:
            if identity[1][0] in user_ids:
                session.expunge(session.identity_map[identity])


def _people(user_ids: set[str], ctx: Context, known: dict[str, dict]) -> dict[str, dict]:
    """Name users for events: as known already, else from their rows (two column queries)."""
    unknown = user_ids - known.keys()
    named = {}
    if unknown:
        emails: dict[str, list] = {}
        for user_id, value, primary in ctx.session.execute(
            select(UserEmail.user_id, UserEmail.value, UserEmail.primary).where(
                among(ctx.session, UserEmail.user_id, unknown)
            )
        ):
            emails.setdefault(user_id, []).append((value, bool(primary)))
        rows = ctx.session.execute(
            select(User.id, User.user_name).where(among(ctx.session, User.id, unknown))
        )
        named = {u: person(u, name, emails.get(u, [])) for u, name in rows}
    return {u: known.get(u) or named.get(u) or {"id": u} for u in user_ids}
