"""The two ways to hold a role on a resource: a user's direct grant, a group's assignment.

They differ only in what `Holding` names: the row's table, its holder, the columns naming the
holder and who gave it, and the changes giving and taking it. The reads (`rbac.listing`) and
the writes (`rbac.admin.grants`) take a user or a group and find its holding here.
"""

from dataclasses import dataclass

from rbac.facts import GroupRoleAssigned, GroupRoleUnassigned, RoleGranted, RoleRevoked
from rbac.models import Grant, Group, GroupAssignment, User


@dataclass(frozen=True)
class Holding:
    """How a kind of principal holds roles: its rows, and the changes giving and taking one."""

    name: str  # what one row is called: "grant", "assignment"
    model: type[Grant] | type[GroupAssignment]
    holder: type[User] | type[Group]
    holder_key: str  # the row's column naming its holder
    given_by: str  # the row's column naming the actor who gave it
    given: type[RoleGranted] | type[GroupRoleAssigned]
    taken: type[RoleRevoked] | type[GroupRoleUnassigned]

    @property
    def holder_id(self):
        """The row's column naming its holder, for queries."""
        return getattr(self.model, self.holder_key)


GRANTS = Holding("grant", Grant, User, "user_id", "granted_by", RoleGranted, RoleRevoked)
ASSIGNMENTS = Holding(
    "assignment",
    GroupAssignment,
    Group,
    "group_id",
    "assigned_by",
    GroupRoleAssigned,
    GroupRoleUnassigned,
)


def holding_of(holder: User | Group) -> Holding:
    """Return how this principal holds roles: a user by direct grants, a group by assignments."""
    return GRANTS if isinstance(holder, User) else ASSIGNMENTS
