"""Directory events: frozen, past-tense facts that domain operations return."""

from dataclasses import dataclass


@dataclass(frozen=True)
class UserCreated:
    """A directory provisioned a new user."""

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


@dataclass(frozen=True)
class GroupCreated:
    """A directory provisioned a new group."""

    group_id: str


@dataclass(frozen=True)
class GroupUpdated:
    """A group's own attributes (not its members) changed."""

    group_id: str


@dataclass(frozen=True)
class GroupDeleted:
    """A group was removed, with every membership it held."""

    group_id: str
    member_ids: tuple[str, ...] = ()


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
