"""Every event type there is, declared once: its name, its payload, who may read it, what it says.

The payload is the class (`rbac.payloads`) whose fields are the keys of an event's `data`;
the log refuses an event whose payload is not its type's (`rbac.event_log.record_event`).
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
from types import UnionType
from typing import get_args

from rbac.payloads import (
    AccessChange,
    AccountUnlocked,
    ApiKeyAction,
    DefaultRoleChange,
    DirectoryAction,
    DirectoryDeletion,
    DirectoryGroup,
    DirectoryUser,
    GroupRole,
    GroupRolesSwitch,
    Login,
    Membership,
    Nesting,
    NoActiveOwner,
    PasswordLinkCreated,
    PasswordSetByLink,
    PasswordSetByOperator,
    ResourceCreated,
    ResourceDeleted,
    TokenAction,
    TokenRotation,
    UserRole,
    WebhookAction,
    WebhookReplay,
    WebhookSecretRotation,
    WorkforceAgents,
)


class Audience(StrEnum):
    """Who may read an event in the audit log (see the module)."""

    ACCESS = "access"
    MEMBERSHIP = "membership"
    SECURITY = "security"


@dataclass(frozen=True)
class EventType:
    """One type of event: its name, its payload's class, who may read it, what one says."""

    name: str
    payload: type | UnionType  # rbac.payloads: one class, or `A | B` for a type of two shapes
    audience: Audience
    says: str
    admin_action: bool = False  # an action on the org's credentials or settings, not access

    @property
    def shapes(self) -> tuple[type, ...]:
        """The payload classes an event of this type may carry (one, but for a union)."""
        return get_args(self.payload) or (self.payload,)


_A, _M, _S = Audience.ACCESS, Audience.MEMBERSHIP, Audience.SECURITY
_SETTINGS = DefaultRoleChange | GroupRolesSwitch
_PASSWORD = PasswordSetByOperator | PasswordSetByLink


def _action(name: str, payload: type | UnionType, says: str) -> EventType:
    """An admin action: a security event, outside the access fold."""
    return EventType(name, payload, _S, says, admin_action=True)


TYPES = (
    # Access: one event per change of a user's roles on a resource (rbac.recompute).
    EventType("access.granted", AccessChange, _A, "a user gained access to a resource"),
    EventType("access.changed", AccessChange, _A, "a user's roles on a resource changed"),
    EventType("access.revoked", AccessChange, _A, "a user lost access to a resource"),
    EventType("grant.created", UserRole, _A, "an admin gave a user a role directly"),
    EventType("grant.deleted", UserRole, _A, "an admin took a direct grant back"),
    EventType("assignment.created", GroupRole, _A, "an admin gave a group a role"),
    EventType("assignment.deleted", GroupRole, _A, "an admin took a group's role back"),
    EventType("resource.created", ResourceCreated, _A, "a project or asset was created"),
    EventType("resource.updated", WorkforceAgents, _A, "a workforce's agents changed"),
    EventType("resource.deleted", ResourceDeleted, _A, "a project or asset was deleted"),
    # Directories: WorkOS's names for an IdP's users and groups, the same without dsync. for
    # local ones.
    EventType("dsync.user.created", DirectoryUser, _M, "the IdP provisioned a user"),
    EventType("dsync.user.updated", DirectoryUser, _M, "the IdP changed or (de)activated a user"),
    EventType("dsync.user.deleted", DirectoryUser, _M, "the IdP deleted a user"),
    EventType("dsync.group.created", DirectoryGroup, _M, "the IdP provisioned a group"),
    EventType("dsync.group.updated", DirectoryGroup, _M, "the IdP renamed a group"),
    EventType("dsync.group.deleted", DirectoryGroup, _M, "the IdP deleted a group"),
    EventType("dsync.group.user_added", Membership, _M, "the IdP added a user to a group"),
    EventType("dsync.group.user_removed", Membership, _M, "the IdP removed a user from a group"),
    EventType("user.created", DirectoryUser, _M, "an admin created a local user"),
    EventType("user.updated", DirectoryUser, _M, "a local user changed, or was (de)activated"),
    EventType("user.deleted", DirectoryUser, _M, "an admin deleted a local user"),
    EventType("group.created", DirectoryGroup, _M, "an admin created a local group"),
    EventType("group.updated", DirectoryGroup, _M, "an admin renamed a local group"),
    EventType("group.deleted", DirectoryGroup, _M, "an admin deleted a local group"),
    EventType("group.user_added", Membership, _M, "an admin added a user to a local group"),
    EventType("group.user_removed", Membership, _M, "an admin removed a user from a local group"),
    EventType("group.nested", Nesting, _M, "a group became a member of another"),
    EventType("group.unnested", Nesting, _M, "a group stopped being a member of another"),
    # The organization's settings and alerts.
    EventType("org.settings.changed", _SETTINGS, _S, "the default role or the switch changed"),
    EventType("org.alert.no_active_owner", NoActiveOwner, _S, "an IdP left no active Owner"),
    # Admin actions on what can act on the organization (PRODUCT.md, "Admin actions are
    # events too"): never in the access fold, never carrying a secret.
    _action("directory.created", DirectoryAction, "a directory was connected"),
    _action("directory.paused", DirectoryAction, "a directory's provisioning was paused"),
    _action("directory.resumed", DirectoryAction, "a directory's provisioning was resumed"),
    _action(
        "directory.deleted", DirectoryDeletion, "a directory, its users and groups were deleted"
    ),
    _action("directory.token.created", TokenAction, "a SCIM token was created"),
    _action("directory.token.rotated", TokenRotation, "a SCIM token replaced the others"),
    _action("directory.token.revoked", TokenAction, "a SCIM token was revoked"),
    _action("api_key.created", ApiKeyAction, "an API key was created"),
    _action("api_key.revoked", ApiKeyAction, "an API key was revoked"),
    _action("webhook.created", WebhookAction, "a webhook endpoint was created"),
    _action("webhook.updated", WebhookAction, "a webhook endpoint was changed, paused or resumed"),
    _action("webhook.deleted", WebhookAction, "a webhook endpoint was deleted"),
    _action("webhook.replayed", WebhookReplay, "a webhook endpoint was replayed from an event"),
    _action("webhook.secret_rotated", WebhookSecretRotation, "a webhook's secret was rotated"),
    _action("admin.password.set", _PASSWORD, "an admin's password was set (operator, or a link)"),
    _action("admin.password_link.created", PasswordLinkCreated, "a set-password link was given"),
    _action("admin.login.succeeded", Login, "an admin logged in"),
    _action("admin.login.failed", Login, "the first failed login of a series"),
    _action("admin.login.locked", Login, "failed logins locked an account"),
    _action("admin.login.unlocked", AccountUnlocked, "an admin unlocked a locked account"),
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
