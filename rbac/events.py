"""Changes: frozen, past-tense facts that operations return and `rbac.changes.apply_changes` takes.

Directory changes come from provisioning (an IdP through SCIM) or from admins editing local
users and groups; admin changes come from `rbac.admin`. A change names ids; the few whose
rows are gone by the time they are applied (deletions) carry a snapshot of the object, so that
the event can still show what was deleted.
"""

from dataclasses import dataclass, field

# -- directory changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class UserCreated:
    """A directory provisioned a new user (or an admin created a local one)."""

    user_id: str


@dataclass(frozen=True)
class UserUpdated:
    """A user's attributes changed."""

    user_id: str


@dataclass(frozen=True)
class UserDeactivated:
    """A user went from active to inactive."""

    user_id: str


@dataclass(frozen=True)
class UserReactivated:
    """A user went from inactive to active."""

    user_id: str


@dataclass(frozen=True)
class UserDeleted:
    """A user was removed, with every membership it had."""

    user_id: str
    group_ids: tuple[str, ...] = ()
    snapshot: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class GroupCreated:
    """A directory provisioned a new group (or an admin created a local one)."""

    group_id: str


@dataclass(frozen=True)
class GroupUpdated:
    """A group's own attributes (not its members) changed."""

    group_id: str


@dataclass(frozen=True)
class GroupDeleted:
    """A group was removed, with every membership it held."""

    group_id: str
    member_ids: tuple[str, ...] = ()  # every transitive member, who may lose access
    snapshot: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class MemberAdded:
    """A user became a member of a group."""

    group_id: str
    user_id: str


@dataclass(frozen=True)
class MemberRemoved:
    """A user stopped being a member of a group."""

    group_id: str
    user_id: str


@dataclass(frozen=True)
class GroupNested:
    """A group became a member of another group (its members are now the parent's too)."""

    group_id: str
    child_group_id: str


@dataclass(frozen=True)
class GroupUnnested:
    """A group stopped being a member of another group."""

    group_id: str
    child_group_id: str


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
class RoleGranted:
    """A user was given a role directly on a resource."""

    user_id: str
    resource_id: int
    role: str


@dataclass(frozen=True)
class RoleRevoked:
    """A direct grant was taken back."""

    user_id: str
    resource_id: int
    role: str


@dataclass(frozen=True)
class GroupRoleAssigned:
    """A group came to hold a role on a resource."""

    group_id: str
    resource_id: int
    role: str


@dataclass(frozen=True)
class GroupRoleUnassigned:
    """A group's role on a resource was taken back."""

    group_id: str
    resource_id: int
    role: str


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
    | RoleGranted
    | RoleRevoked
    | GroupRoleAssigned
    | GroupRoleUnassigned
    | DefaultRoleChanged
    | GroupRolesSwitched
    | CatalogApplied
)
