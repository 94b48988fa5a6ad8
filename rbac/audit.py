"""The audit log: the organization's events, as much of them as the reader's roles cover.

Who reads what (PRODUCT.md, "Admin views and API"; `rbac.event_types` declares each type's
audience):

- an org Owner or Admin (who may manage users or settings): every event;
- every org role from Viewer up (the catalog's `view_audit_log`): the events about projects,
  assets and the access to them (seed 002);
- a project's Admin (the project permission `view_project_audit_log`): those of their
  projects and their assets;
- anyone else: nothing.

A reader who may not see group membership (seeds 000 and 003) reads access events without
the group they came through: the source says "group", not which.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import undefer

from rbac.authorization import permissions_on
from rbac.context import Context
from rbac.errors import Forbidden
from rbac.event_types import Audience
from rbac.models import EffectiveAccess, Event, Resource
from rbac.resources import org_resource


@dataclass(frozen=True)
class AuditScope:
    """What a reader may read: whole audiences, and the access events of some projects."""

    audiences: frozenset[Audience] = frozenset()
    projects: frozenset[int] = frozenset()
    sees_membership: bool = False


@dataclass(frozen=True)
class AuditFilter:
    """What the reader asks for; None means any."""

    family: str | None = None  # a type family, e.g. "access."
    user_id: str | None = None
    group_id: str | None = None
    resource_id: int | None = None
    cause: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None  # an event id: older ones only (paging)


@dataclass(frozen=True)
class AuditEntry:
    """One event as the reader may see it."""

    id: int
    created_at: datetime
    type: str
    data: dict = field(compare=False)


def audit_scope(ctx: Context) -> AuditScope:
    """Return what the acting principal may read of the audit log; Forbidden if nothing."""
    administration = ctx.catalog.administration
    held = permissions_on(ctx, org_resource(ctx.session, ctx.org))
    if administration.manage_principals in held or administration.manage_settings in held:
        return AuditScope(frozenset(Audience), sees_membership=True)
    if administration.view_audit_log in held:
        return AuditScope(frozenset({Audience.ACCESS}))
    projects = frozenset(_projects_readable(ctx))
    if projects:
        return AuditScope(projects=projects)
    raise Forbidden("your roles let you read none of this organization's audit log")


def read_audit_log(
    ctx: Context, scope: AuditScope, wanted: AuditFilter, limit: int = 100
) -> list[AuditEntry]:
    """Return the newest events the scope covers and the filter asks for, newest first."""
    query = _covered(ctx, scope)
    if wanted.family:
        query = query.where(Event.type.startswith(wanted.family))
    for column, value in (
        (Event.user_id, wanted.user_id),
        (Event.group_id, wanted.group_id if scope.sees_membership else None),
        (Event.resource_id, wanted.resource_id),
        (Event.cause, wanted.cause),
        (Event.actor, wanted.actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if wanted.since is not None:
        query = query.where(Event.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(Event.created_at < wanted.until)
    if wanted.before is not None:
        query = query.where(Event.id < wanted.before)
    rows = ctx.session.scalars(query.order_by(Event.id.desc()).limit(limit)).all()
    return [_entry(event, scope) for event in rows]


def read_feed(ctx: Context, scope: AuditScope, after: int, limit: int) -> list[AuditEntry]:
    """Return the events the scope covers after a cursor, oldest first, never skipping one.

    The feed of /api/v1/events: the organization's stream (`rbac.event_log.read_events`),
    less what the reader's roles do not cover.
    """
    query = _covered(ctx, scope).where(Event.id > after)
    rows = ctx.session.scalars(query.order_by(Event.id).limit(limit)).all()
    return [_entry(event, scope) for event in rows]


def _covered(ctx: Context, scope: AuditScope):
    """The organization's events the scope covers."""
    query = select(Event).where(Event.organization_id == ctx.org.id)
    covered = [Event.audience.in_([a.value for a in scope.audiences])] if scope.audiences else []
    if scope.projects:
        covered.append(
            and_(Event.audience == Audience.ACCESS.value, Event.project_id.in_(scope.projects))
        )
    return query.where(or_(*covered) if covered else false()).options(undefer(Event.audience))


def _entry(event: Event, scope: AuditScope) -> AuditEntry:
    data = _as_read(event, scope.sees_membership)
    return AuditEntry(event.id, event.created_at, event.type, data)


def _as_read(event: Event, sees_membership: bool) -> dict:
    """An event's data for its reader: without the group an access came through, if need be."""
    if sees_membership or event.audience != Audience.ACCESS.value:
        return event.data
    data = dict(event.data)
    if isinstance(data.get("source"), str) and data["source"].startswith("group "):
        data["source"] = "group"
    if isinstance(data.get("cause"), dict):
        hidden = {"group_id", "child_group_id"}
        data["cause"] = {k: v for k, v in data["cause"].items() if k not in hidden}
    return data


def _projects_readable(ctx: Context) -> list[int]:
    """The projects whose audit log the actor's own roles on them open."""
    if ctx.actor.user_id is None:
        return []
    permission = ctx.catalog.administration.view_project_audit_log
    projects = ctx.session.scalars(
        select(Resource)
        .join(EffectiveAccess, EffectiveAccess.resource_id == Resource.id)
        .where(
            EffectiveAccess.user_id == ctx.actor.user_id,
            Resource.organization_id == ctx.org.id,
            Resource.kind == "project",
        )
    ).all()
    return [p.id for p in projects if permission in permissions_on(ctx, p)]
