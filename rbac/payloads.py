"""Event payloads: one frozen dataclass per shape of an event's `data`, and the objects in them.

Each event type names its payload class in `rbac.event_types` (several types share one: the
`dsync.user.*` and `user.*` events all carry a directory user). A producer builds the class;
`rbac.event_log` checks it against the type and writes its fields, one key each, as the JSON
`data` (`as_data`: shallow, since nested objects are plain dicts already). The log adds one
key of its own, `actor`, to every event but an access change, whose actor is its cause's.
A type whose events come in two shapes names both (`A | B`), rather than a class with keys
that are sometimes null.

A consumer migrating from WorkOS Directory Sync finds in `dsync.*` events the objects it
knows (`id`, `directory_id`, `organization_id`, `idp_id`, `username`, `emails`, `first_name`,
`last_name`, `state`, `raw_attributes`; for groups `id`, `name`, ...). Access events name the
user by id, userName and primary email, beside the resource's address. Admin actions name
their objects (a directory, token, key, webhook or account) by id and label, never a secret.
"""

import functools
from dataclasses import dataclass, fields

from rbac.models import Group, User


def directory_user(user: User) -> dict:
    """Return a user as WorkOS's directory user object (emails as the IdP sent them)."""
    emails = [(e.value, e.type_key, e.primary) for e in user.emails]
    return directory_user_of_row(user, emails)


def directory_user_of_row(row, emails: list[tuple]) -> dict:
    """Return a user as a WorkOS directory user, from its columns and (value, type, primary)."""
    return _directory_object("directory_user", row) | {
        "username": row.user_name,
        "emails": [
            {"value": value, "type": type_key, "primary": bool(primary)}
            for value, type_key, primary in emails
        ],
        "first_name": row.given_name,
        "last_name": row.family_name,
        "display_name": row.display_name,
        "state": "active" if row.active else "inactive",
    }


def directory_group(group: Group) -> dict:
    """Return a group as WorkOS's directory group object; local groups have no directory."""
    return _directory_object("directory_group", group) | {
        "name": group.display_name,
        "slug": group.slug,
        "local": group.directory_id is None,
    }


def _directory_object(kind: str, row) -> dict:
    return {
        "object": kind,
        "id": row.id,
        "directory_id": row.directory_id,
        "organization_id": row.organization_id,
        "idp_id": row.external_id,
        "raw_attributes": row.attributes,
    }


def person(user_id: str, username: str | None, emails: list[tuple[str | None, bool]]) -> dict:
    """Return how access events name a user: id, userName, primary (or first) email."""
    ranked = sorted(emails, key=lambda email: not email[1])
    return {"id": user_id, "username": username, "email": ranked[0][0] if ranked else None}


def person_of_directory_user(user: dict) -> dict:
    """Return how access events name a user, from its directory object (a deleted one's too)."""
    emails = [(e.get("value"), bool(e.get("primary"))) for e in user.get("emails", [])]
    return person(user.get("id"), user.get("username"), emails)


def as_data(payload) -> dict:
    """Return a payload as an event's `data`: its fields, one key each (nested dicts as is)."""
    return {name: getattr(payload, name) for name in field_names(type(payload))}


@functools.cache
def field_names(payload_class: type) -> tuple[str, ...]:
    """Return the names of a payload class's fields, in order: the keys of its `data`."""
    return tuple(f.name for f in fields(payload_class))


# -- directories: WorkOS's objects -----------------------------------------------------------


@dataclass(slots=True, frozen=True)
class DirectoryUser:
    """A user event (`dsync.user.*`, `user.*`): the user as WorkOS's directory user object."""

    object: str
    id: str
    directory_id: int | None
    organization_id: int
    idp_id: str | None
    raw_attributes: dict
    username: str
    emails: list
    first_name: str | None
    last_name: str | None
    display_name: str | None
    state: str


@dataclass(slots=True, frozen=True)
class DirectoryGroup:
    """A group event (`dsync.group.*`, `group.*`): the group as WorkOS's directory group."""

    object: str
    id: str
    directory_id: int | None
    organization_id: int
    idp_id: str | None
    raw_attributes: dict
    name: str
    slug: str | None
    local: bool


@dataclass(slots=True, frozen=True)
class Membership:
    """A user added to or removed from a group: both as directory objects."""

    directory_id: int | None
    user: dict
    group: dict


@dataclass(slots=True, frozen=True)
class Nesting:
    """A group (`child`) nested in or unnested from another (`group`)."""

    group: dict
    child: dict


# -- access and what gives it ----------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class AccessChange:
    """A user's roles on a resource changed (`access.*`): before, after, source and cause."""

    user: dict
    user_id: str
    resource_id: int
    resource: str | None
    old_role: str | None
    new_role: str | None
    old_additive: list
    new_additive: list
    source: str | None
    cause: dict  # its `actor` is the event's actor


@dataclass(slots=True, frozen=True)
class UserRole:
    """A direct grant given or taken back: the user, the role, the resource."""

    resource_id: int
    resource: str
    role: str
    user: dict


@dataclass(slots=True, frozen=True)
class GroupRole:
    """A group's role given or taken back: the group, the role, the resource."""

    resource_id: int
    resource: str
    role: str
    group: dict


@dataclass(slots=True, frozen=True)
class ResourceCreated:
    """A project or asset was created."""

    resource_id: int
    resource: str
    kind: str


@dataclass(slots=True, frozen=True)
class WorkforceAgents:
    """A workforce's agents were replaced: the slugs it uses now."""

    resource_id: int
    resource: str
    kind: str
    uses: list


@dataclass(slots=True, frozen=True)
class ResourceDeleted:
    """A project or asset was deleted, with every address that no longer names anything."""

    resource_id: int
    resource: str
    kind: str
    deleted: list


# -- the organization's settings and alerts --------------------------------------------------


@dataclass(slots=True, frozen=True)
class DefaultRoleChange:
    """The org role every user holds changed."""

    default_role: str | None
    old_default_role: str | None


@dataclass(slots=True, frozen=True)
class GroupRolesSwitch:
    """Group-derived roles were turned on or off."""

    group_roles_enabled: bool


@dataclass(slots=True, frozen=True)
class NoActiveOwner:
    """An IdP's change left the organization without an active Owner: the actor says which."""


# -- admin actions ---------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class DirectoryAction:
    """A directory connected, paused or resumed: its id, name and provider."""

    directory: dict


@dataclass(slots=True, frozen=True)
class DirectoryDeletion:
    """A directory deleted: its id, name and provider, and how many users and groups went."""

    directory: dict
    users: int
    groups: int


@dataclass(slots=True, frozen=True)
class TokenAction:
    """A SCIM token created or revoked: its directory, and its id, prefix and expiry."""

    directory: dict
    token: dict


@dataclass(slots=True, frozen=True)
class TokenRotation:
    """A new SCIM token replaced the live ones, which expire after the grace period."""

    directory: dict
    token: dict
    expiring: list
    grace_hours: float


@dataclass(slots=True, frozen=True)
class ApiKeyAction:
    """An API key created or revoked: its id, name, prefix and role."""

    api_key: dict


@dataclass(slots=True, frozen=True)
class WebhookAction:
    """A webhook endpoint created, changed or deleted: its id, URL (redacted), filter, state."""

    webhook: dict


@dataclass(slots=True, frozen=True)
class WebhookSecretRotation:
    """A webhook endpoint got a new signing secret; the old one signs too for `overlap_hours`."""

    webhook: dict
    overlap_hours: float


@dataclass(slots=True, frozen=True)
class WebhookReplay:
    """A webhook endpoint sent back to an earlier event."""

    webhook: dict
    from_event_id: int


@dataclass(slots=True, frozen=True)
class PasswordSetByOperator:
    """The operator gave an admin account its org role and a password."""

    user: dict
    role: str


@dataclass(slots=True, frozen=True)
class PasswordSetByLink:
    """An admin set their password with a one-time link (`link_from`: who gave it)."""

    user: dict
    link: int
    link_from: str


@dataclass(slots=True, frozen=True)
class PasswordLinkCreated:
    """An admin gave another a one-time set-password link."""

    user: dict
    link: int


@dataclass(slots=True, frozen=True)
class AccountUnlocked:
    """An admin unlocked an account that failed logins had locked."""

    user: dict


@dataclass(slots=True, frozen=True)
class Login:
    """A login succeeded, failed first or locked an account: the account, failures so far."""

    user: dict
    failures: int
