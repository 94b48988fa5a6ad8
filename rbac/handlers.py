"""What each change means: its event, the users whose access it may change, and why.

One plain function per change type, found through the HANDLERS registry (dispatch by type,
as cosmicpython's handlers); `rbac.changes.apply_changes` calls them. A handler reads what it
needs and writes nothing: the event log and the recomputation are the door's.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rbac import facts, payloads
from rbac.bulk import among, held_rows, rows_by_id
from rbac.context import Context
from rbac.event_types import CAUSES
from rbac.group_graph import transitive_members
from rbac.models import (
    EffectiveAccess,
    Group,
    GroupAssignment,
    Resource,
    User,
    UserEmail,
    WorkforceAgent,
)
from rbac.payloads import directory_group, directory_user, directory_user_of_row
from rbac.resources import address_of, org_resource


@dataclass
class Effect:
    """A change's consequences: an event to record, users to recompute, and the cause's name."""

    event: tuple[str, object] | None = None  # a type and its payload (rbac.payloads)
    users: Iterable[str] = ()
    cause: str | None = None
    detail: tuple[tuple[str, str | int], ...] = ()
    gone: frozenset[int] = frozenset()  # resources being deleted: nobody keeps access to them

    def __post_init__(self):
        if self.cause is not None and self.cause not in CAUSES:
            raise ValueError(f"{self.cause!r} is not one of rbac.event_types.CAUSES")


class Objects:
    """The users and groups a batch of changes names, loaded at once (deleted: from snapshots)."""

    def __init__(self, ctx: Context, changes: list):
        user_ids = {c.user_id for c in changes if hasattr(c, "user_id")}
        group_ids = {
            g
            for c in changes
            for g in (getattr(c, "group_id", None), getattr(c, "child_group_id", None))
            if g
        }
        self.users = _directory_users(ctx.session, user_ids)
        self.groups = rows_by_id(ctx.session, Group, group_ids)
        self.user_snapshots = {
            c.user_id: c.snapshot for c in changes if isinstance(c, facts.UserDeleted)
        }
        self.group_snapshots = {
            c.group_id: c.snapshot for c in changes if isinstance(c, facts.GroupDeleted)
        }

    def user(self, user_id: str) -> dict:
        """Return a user's directory object (its snapshot if the row is gone)."""
        return self.users.get(user_id) or self.user_snapshots.get(user_id) or {"id": user_id}

    def group(self, group_id: str) -> dict:
        """Return a group's directory object (its snapshot if the row is gone)."""
        if group_id in self.groups:
            return directory_group(self.groups[group_id])
        return self.group_snapshots.get(group_id) or {"id": group_id}

    def group_event(self, group_id: str, idp_type: str, local_type: str) -> str:
        """Name a group event: dsync.group.* for an IdP's group, group.* for a local one."""
        return local_type if self.group(group_id).get("local", False) else idp_type


_DIRECTORY_USER_COLUMNS = (
    User.id,
    User.organization_id,
    User.directory_id,
    User.external_id,
    User.attributes,
    User.user_name,
    User.given_name,
    User.family_name,
    User.display_name,
    User.active,
)


def _directory_users(session: Session, user_ids: set[str]) -> dict[str, dict]:
    """Return users' directory objects: from the rows the session holds, else from columns.

    A group PATCH names a hundred members the session has not loaded: their columns and
    emails read as plain rows cost less than a hundred ORM objects and their emails.
    """
    held, missing = held_rows(session, User, user_ids)
    found = {user_id: directory_user(user) for user_id, user in held.items()}
    if not missing:
        return found
    emails: dict[str, list[tuple]] = {}
    for user_id, *email in session.execute(
        select(UserEmail.user_id, UserEmail.value, UserEmail.type_key, UserEmail.primary)
        .where(among(session, UserEmail.user_id, missing))
        .order_by(UserEmail.id)
    ):
        emails.setdefault(user_id, []).append(tuple(email))
    rows = session.execute(select(*_DIRECTORY_USER_COLUMNS).where(among(session, User.id, missing)))
    return found | {row.id: directory_user_of_row(row, emails.get(row.id, [])) for row in rows}


Handler = Callable[[Context, object, Objects], Effect]
HANDLERS: dict[type, Handler] = {}


def handles(change_type: type):
    """Register a function as the handler of one change type."""

    def register(handler: Handler) -> Handler:
        HANDLERS[change_type] = handler
        return handler

    return register


# -- directory changes ----------------------------------------------------------------------


def _user_event(idp_type: str, local_type: str, cause: str | None = None):
    """A user event: the first type for a user of an IdP's directory, the second for a local one."""

    def handler(ctx: Context, change, objects: Objects) -> Effect:
        user = objects.user(change.user_id)
        kind = idp_type if user.get("directory_id") else local_type
        event = (kind, payloads.DirectoryUser(**user))
        return Effect(event, [change.user_id] if cause else (), cause)

    return handler


handles(facts.UserCreated)(_user_event("dsync.user.created", "user.created", "user_created"))
handles(facts.UserUpdated)(_user_event("dsync.user.updated", "user.updated"))
handles(facts.UserDeactivated)(
    _user_event("dsync.user.updated", "user.updated", "user_deactivated")
)
handles(facts.UserReactivated)(
    _user_event("dsync.user.updated", "user.updated", "user_reactivated")
)
handles(facts.UserDeleted)(_user_event("dsync.user.deleted", "user.deleted", "user_deleted"))


@handles(facts.GroupCreated)
def group_created(ctx: Context, change, objects: Objects) -> Effect:
    """A new group grants nothing yet."""
    kind = objects.group_event(change.group_id, "dsync.group.created", "group.created")
    return Effect((kind, payloads.DirectoryGroup(**objects.group(change.group_id))))


@handles(facts.GroupUpdated)
def group_updated(ctx: Context, change, objects: Objects) -> Effect:
    """Renaming a group changes no one's access, but the source of what its roles give.

    Access rows name their source (`group NAME`), which `check` prints: a renamed group that
    holds roles has its transitive members recomputed, which rewrites those labels only.
    """
    kind = objects.group_event(change.group_id, "dsync.group.updated", "group.updated")
    event = (kind, payloads.DirectoryGroup(**objects.group(change.group_id)))
    holds_roles = select(GroupAssignment.id).where(GroupAssignment.group_id == change.group_id)
    if not change.renamed or ctx.session.scalar(holds_roles.limit(1)) is None:
        return Effect(event)
    users = transitive_members(ctx.session, change.group_id)
    return Effect(event, users, "group_renamed", (("group_id", change.group_id),))


@handles(facts.GroupDeleted)
def group_deleted(ctx: Context, change, objects: Objects) -> Effect:
    """Everyone who was in the group, at any depth, loses what it gave."""
    kind = objects.group_event(change.group_id, "dsync.group.deleted", "group.deleted")
    event = (kind, payloads.DirectoryGroup(**objects.group(change.group_id)))
    return Effect(event, change.member_ids, "group_deleted", (("group_id", change.group_id),))


def _membership(idp_type: str, local_type: str, cause: str):
    def handler(ctx: Context, change, objects: Objects) -> Effect:
        group = objects.group(change.group_id)
        data = payloads.Membership(group.get("directory_id"), objects.user(change.user_id), group)
        event = (objects.group_event(change.group_id, idp_type, local_type), data)
        return Effect(event, [change.user_id], cause, (("group_id", change.group_id),))

    return handler


handles(facts.MemberAdded)(
    _membership("dsync.group.user_added", "group.user_added", "membership_added")
)
handles(facts.MemberRemoved)(
    _membership("dsync.group.user_removed", "group.user_removed", "membership_removed")
)


def _nesting(kind: str, cause: str):
    def handler(ctx: Context, change, objects: Objects) -> Effect:
        # WorkOS has no event for a group inside a group: these two are Rolecall's own.
        data = payloads.Nesting(
            objects.group(change.group_id), objects.group(change.child_group_id)
        )
        detail = (("group_id", change.group_id), ("child_group_id", change.child_group_id))
        users = transitive_members(ctx.session, change.child_group_id)
        return Effect((kind, data), users, cause, detail)

    return handler


handles(facts.GroupNested)(_nesting("group.nested", "group_nested"))
handles(facts.GroupUnnested)(_nesting("group.unnested", "group_unnested"))

# -- admin changes --------------------------------------------------------------------------


@handles(facts.ResourceCreated)
def resource_created(ctx: Context, change, objects: Objects) -> Effect:
    """Those whose roles cascade to the new resource: org owners and admins, project editors."""
    resource = ctx.session.get(Resource, change.resource_id)
    cascades = ctx.catalog.cascades
    holders = _holders(
        ctx, org_resource(ctx.session, ctx.org).id, cascades.org_roles_admin_everywhere
    )
    if resource.parent_id is not None and resource.kind != "project":
        holders |= _holders(ctx, resource.parent_id, cascades.project_roles_admin_of_assets)
    data = payloads.ResourceCreated(resource.id, address_of(ctx.session, resource), resource.kind)
    return Effect(
        ("resource.created", data), holders, "resource_created", (("resource_id", resource.id),)
    )


@handles(facts.ResourceDeleted)
def resource_deleted(ctx: Context, change, objects: Objects) -> Effect:
    """Everyone with access to the resource (or, for a project, to its assets) loses it."""
    holders = ctx.session.scalars(
        select(EffectiveAccess.user_id).where(EffectiveAccess.resource_id.in_(change.gone))
    )
    gone = ctx.session.scalars(select(Resource).where(Resource.id.in_(change.gone)))
    # With a project go its assets: every address that no longer names anything.
    deleted = sorted(address_of(ctx.session, resource) for resource in gone)
    data = payloads.ResourceDeleted(change.resource_id, change.address, change.kind, deleted)
    detail = (("resource_id", change.resource_id),)
    return Effect(
        ("resource.deleted", data), set(holders), "resource_deleted", detail, frozenset(change.gone)
    )


@handles(facts.WorkforceAgentsSet)
def workforce_agents_set(ctx: Context, change, objects: Objects) -> Effect:
    """Nobody's materialised access: the workforce rule is applied when a check asks."""
    resource = ctx.session.get(Resource, change.resource_id)
    agents = ctx.session.scalars(
        select(Resource.slug)
        .join(WorkforceAgent, WorkforceAgent.agent_id == Resource.id)
        .where(WorkforceAgent.workforce_id == resource.id)
        .order_by(Resource.slug)
    )
    address = address_of(ctx.session, resource)
    data = payloads.WorkforceAgents(resource.id, address, resource.kind, list(agents))
    return Effect(("resource.updated", data))


def _role_change(event: str, cause: str):
    def handler(ctx: Context, change, objects: Objects) -> Effect:
        resource = ctx.session.get(Resource, change.resource_id)
        held = (resource.id, address_of(ctx.session, resource), change.role)
        detail = (("resource_id", change.resource_id), ("role", change.role))
        if hasattr(change, "user_id"):  # a direct grant: that user
            data = payloads.UserRole(*held, objects.user(change.user_id))
            users = [change.user_id]
        else:  # a group's role: every transitive member
            data = payloads.GroupRole(*held, objects.group(change.group_id))
            users = transitive_members(ctx.session, change.group_id)
            detail = (*detail, ("group_id", change.group_id))
        return Effect((event, data), users, cause, detail)

    return handler


handles(facts.RoleGranted)(_role_change("grant.created", "direct_grant"))
handles(facts.RoleRevoked)(_role_change("grant.deleted", "direct_revoke"))
handles(facts.GroupRoleAssigned)(_role_change("assignment.created", "group_assigned"))
handles(facts.GroupRoleUnassigned)(_role_change("assignment.deleted", "group_unassigned"))


@handles(facts.DefaultRoleChanged)
def default_role_changed(ctx: Context, change, objects: Objects) -> Effect:
    """Every user of the org holds the default role."""
    data = payloads.DefaultRoleChange(change.new_role, change.old_role)
    return Effect(("org.settings.changed", data), _everyone(ctx), "default_role_changed")


@handles(facts.GroupRolesSwitched)
def group_roles_switched(ctx: Context, change, objects: Objects) -> Effect:
    """Every user of the org may hold group-derived roles."""
    data = payloads.GroupRolesSwitch(change.enabled)
    detail = (("group_roles_enabled", int(change.enabled)),)
    return Effect(("org.settings.changed", data), _everyone(ctx), "switch_toggled", detail)


@handles(facts.CatalogApplied)
def catalog_applied(ctx: Context, change, objects: Objects) -> Effect:
    """Every user of the org, against the catalog now loaded."""
    return Effect(None, _everyone(ctx), "catalog_changed")


def _holders(ctx: Context, resource_id: int, roles) -> set[str]:
    return set(
        ctx.session.scalars(
            select(EffectiveAccess.user_id).where(
                EffectiveAccess.resource_id == resource_id, EffectiveAccess.role.in_(list(roles))
            )
        )
    )


def _everyone(ctx: Context) -> set[str]:
    """Every user of the org, and anyone still holding access in it."""
    users = set(ctx.session.scalars(select(User.id).where(User.organization_id == ctx.org.id)))
    return users | set(
        ctx.session.scalars(
            select(EffectiveAccess.user_id).where(EffectiveAccess.organization_id == ctx.org.id)
        )
    )
