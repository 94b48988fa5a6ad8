"""What changed: frozen, past-tense facts that operations return and `apply_changes` takes.

An *event* is a row of the organization's stream (`rbac.event_log`, `rbac.event_types`);
a fact here is what an operation did to the base tables, which the door turns into events.

Directory changes come from provisioning (an IdP through SCIM) or from admins editing local
users and groups; admin changes come from `rbac.admin`. A change names ids; the few whose
rows are gone by the time they are applied (deletions) carry a snapshot of the object, so that
the event can still show what was deleted. Changes of one shape share a base class; each is
its own type, since the handlers dispatch on the exact type.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class _OfUser:
    user_id: str


@dataclass(frozen=True)
class _OfGroup:
    group_id: str


@dataclass(frozen=True)
class _Membership:
    group_id: str
    user_id: str


@dataclass(frozen=True)
class _Nesting:
    group_id: str
    child_group_id: str


@dataclass(frozen=True)
class _UserRole:
    user_id: str
    resource_id: int
    role: str


@dataclass(frozen=True)
class _GroupRole:
    group_id: str
    resource_id: int
    role: str


# -- directory changes ----------------------------------------------------------------------


class UserCreated(_OfUser):
    """A directory provisioned a new user (or an admin created a local one)."""


class UserUpdated(_OfUser):
    """A user's attributes changed."""


class UserDeactivated(_OfUser):
    """A user went from active to inactive."""


class UserReactivated(_OfUser):
    """A user went from inactive to active."""


@dataclass(frozen=True)
class UserDeleted:
    """A user was removed, with every membership it had."""

    user_id: str
    group_ids: tuple[str, ...] = ()
    snapshot: dict = field(default_factory=dict, compare=False, hash=False)


class GroupCreated(_OfGroup):
    """A directory provisioned a new group (or an admin created a local one)."""


@dataclass(frozen=True)
class GroupUpdated:
    """A group's own attributes (not its members) changed; `renamed` if its displayName did."""

    group_id: str
    renamed: bool = False


@dataclass(frozen=True)
class GroupDeleted:
    """A group was removed, with every membership it held."""

    group_id: str
    member_ids: tuple[str, ...] = ()  # every transitive member, who may lose access
    snapshot: dict = field(default_factory=dict, compare=False, hash=False)


class MemberAdded(_Membership):
    """A user became a member of a group."""


class MemberRemoved(_Membership):
    """A user stopped being a member of a group."""


class GroupNested(_Nesting):
    """A group became a member of another group (its members are now the parent's too)."""


class GroupUnnested(_Nesting):
    """A group stopped being a member of another group."""


DirectoryEvent = (
    UserCreated
    | UserUpdated
    | UserDeactivated
    | UserReactivated
    | UserDeleted
    | GroupCreated
    | GroupUpdated
    | GroupDeleted
    | MemberAdded
    | MemberRemoved
    | GroupNested
    | GroupUnnested
)

# -- admin changes --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceCreated:
    """A project or an asset was created."""

    resource_id: int


@dataclass(frozen=True)
class ResourceDeleted:
    """A project (with its assets) or an asset was deleted, with every role held on it."""

    resource_id: int
    address: str
    kind: str
    gone: tuple[int, ...]  # the resource and, for a project, its assets


@dataclass(frozen=True)
class WorkforceAgentsSet:
    """The agents a workforce uses were replaced."""

    resource_id: int


class RoleGranted(_UserRole):
    """A user was given a role directly on a resource."""


class RoleRevoked(_UserRole):
    """A direct grant was taken back."""


class GroupRoleAssigned(_GroupRole):
    """A group came to hold a role on a resource."""


class GroupRoleUnassigned(_GroupRole):
    """A group's role on a resource was taken back."""


@dataclass(frozen=True)
class DefaultRoleChanged:
    """The org role every active user holds changed."""

    old_role: str | None
    new_role: str | None


@dataclass(frozen=True)
class GroupRolesSwitched:
    """Group-derived roles were turned on or off for the organization."""

    enabled: bool


@dataclass(frozen=True)
class CatalogApplied:
    """Every user was recomputed against the current role catalog."""


Change = (
    DirectoryEvent
    | ResourceCreated
    | ResourceDeleted
    | WorkforceAgentsSet
    | RoleGranted
    | RoleRevoked
    | GroupRoleAssigned
    | GroupRoleUnassigned
    | DefaultRoleChanged
    | GroupRolesSwitched
    | CatalogApplied
)
