"""Every event type there is, declared once: its name, who may read it, and what it says.

The stream's other lists derive from this one: the types `record_event` accepts and webhook
filters name (`NAMES`), the admin actions outside the access fold (`ADMIN_ACTIONS`), the
audit log's type filter (`FAMILIES`). The causes an access event may give are declared here
too (`CAUSES`). Each name is written out in full, so that searching the
source for one finds where it is declared and where it is written.

Who may read an event in the audit log follows the seeds:

- `ACCESS`: projects, assets and the access to them. Seed 002 gives every org role from
  Viewer up "view-only access to agent and tool audit logs"; a project's Admin reads those
  of their project and its assets. Read by someone who may not see group membership, an
  access event does not name the group it came through.
- `MEMBERSHIP`: users, groups and who is in which. Seeds 000 and 003: "Group membership is
  only visible on the organization settings page (requires admin access)".
- `SECURITY`: credentials, connections, settings and logins: admins only, as membership.
"""

from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    """Who may read an event in the audit log (see the module)."""

    ACCESS = "access"
    MEMBERSHIP = "membership"
    SECURITY = "security"


@dataclass(frozen=True)
class EventType:
    """One type of event: its name, its audience, and what one says, in a line."""

    name: str
    audience: Audience
    says: str
    admin_action: bool = False  # an action on the org's credentials or settings, not access


_A, _M, _S = Audience.ACCESS, Audience.MEMBERSHIP, Audience.SECURITY

TYPES = (
    # Access: one event per change of a user's roles on a resource (rbac.recompute).
    EventType("access.granted", _A, "a user gained access to a resource"),
    EventType("access.changed", _A, "a user's roles on a resource changed"),
    EventType("access.revoked", _A, "a user lost access to a resource"),
    EventType("grant.created", _A, "an admin gave a user a role directly"),
    EventType("grant.deleted", _A, "an admin took a direct grant back"),
    EventType("assignment.created", _A, "an admin gave a group a role"),
    EventType("assignment.deleted", _A, "an admin took a group's role back"),
    EventType("resource.created", _A, "a project or asset was created"),
    EventType("resource.updated", _A, "a workforce's agents changed"),
    EventType("resource.deleted", _A, "a project or asset was deleted"),
    # Directories: WorkOS's names for an IdP's users and groups, the same without dsync. for
    # local ones (rbac.payloads).
    EventType("dsync.user.created", _M, "the IdP provisioned a user"),
    EventType("dsync.user.updated", _M, "the IdP changed, deactivated or reactivated a user"),
    EventType("dsync.user.deleted", _M, "the IdP deleted a user"),
    EventType("dsync.group.created", _M, "the IdP provisioned a group"),
    EventType("dsync.group.updated", _M, "the IdP renamed a group"),
    EventType("dsync.group.deleted", _M, "the IdP deleted a group"),
    EventType("dsync.group.user_added", _M, "the IdP added a user to a group"),
    EventType("dsync.group.user_removed", _M, "the IdP removed a user from a group"),
    EventType("user.created", _M, "an admin created a local user"),
    EventType("user.updated", _M, "a local user changed, or was deactivated or reactivated"),
    EventType("user.deleted", _M, "an admin deleted a local user"),
    EventType("group.created", _M, "an admin created a local group"),
    EventType("group.updated", _M, "an admin renamed a local group"),
    EventType("group.deleted", _M, "an admin deleted a local group"),
    EventType("group.user_added", _M, "an admin added a user to a local group"),
    EventType("group.user_removed", _M, "an admin removed a user from a local group"),
    EventType("group.nested", _M, "a group became a member of another"),
    EventType("group.unnested", _M, "a group stopped being a member of another"),
    # The organization's settings and alerts.
    EventType("org.settings.changed", _S, "the default role or the group-roles switch changed"),
    EventType("org.alert.no_active_owner", _S, "an IdP change left no active Owner"),
    # Admin actions on what can act on the organization (PRODUCT.md, "Admin actions are
    # events too"): never in the access fold, never carrying a secret.
    EventType("directory.created", _S, "a directory was connected", True),
    EventType("directory.paused", _S, "a directory's provisioning was paused", True),
    EventType("directory.resumed", _S, "a directory's provisioning was resumed", True),
    EventType("directory.token.created", _S, "a SCIM token was created", True),
    EventType("directory.token.rotated", _S, "a SCIM token replaced the others", True),
    EventType("directory.token.revoked", _S, "a SCIM token was revoked", True),
    EventType("api_key.created", _S, "an API key was created", True),
    EventType("api_key.revoked", _S, "an API key was revoked", True),
    EventType("webhook.created", _S, "a webhook endpoint was created", True),
    EventType("webhook.updated", _S, "a webhook endpoint was changed, paused or resumed", True),
    EventType("webhook.deleted", _S, "a webhook endpoint was deleted", True),
    EventType("webhook.replayed", _S, "a webhook endpoint was replayed from an event", True),
    EventType(
        "admin.password.set", _S, "an admin's password was set (by the operator, or a link)", True
    ),
    EventType(
        "admin.password_link.created", _S, "an admin gave a one-time set-password link", True
    ),
    EventType("admin.login.succeeded", _S, "an admin logged in", True),
    EventType("admin.login.failed", _S, "the first failed login of a series", True),
    EventType("admin.login.locked", _S, "failed logins locked an account", True),
)

BY_NAME = {event_type.name: event_type for event_type in TYPES}
NAMES = frozenset(BY_NAME)
ADMIN_ACTIONS = frozenset(t.name for t in TYPES if t.admin_action)
# The audit log's type filter: each family of names ("access.", "dsync.", ...), in order.
FAMILIES = tuple(dict.fromkeys(name.partition(".")[0] + "." for name in BY_NAME))


# Why access changed: the `cause.type` of access events (docs/rbac.md lists them for readers).
CAUSES = (
    "membership_added",
    "membership_removed",
    "group_assigned",
    "group_unassigned",
    "group_deleted",
    "group_renamed",
    "group_nested",
    "group_unnested",
    "user_created",
    "user_deactivated",
    "user_reactivated",
    "user_deleted",
    "direct_grant",
    "direct_revoke",
    "resource_created",
    "resource_deleted",
    "switch_toggled",
    "default_role_changed",
    "catalog_changed",
)


def audience_of(name: str) -> Audience:
    """Who may read events of this type (a KeyError for a type that does not exist)."""
    return BY_NAME[name].audience
