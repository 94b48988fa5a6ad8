"""Event payloads: users and groups shaped as WorkOS's directory objects, and people named.

A consumer migrating from WorkOS Directory Sync finds in `dsync.*` events the objects it
knows (`id`, `directory_id`, `organization_id`, `idp_id`, `username`, `emails`, `first_name`,
`last_name`, `state`, `raw_attributes`; for groups `id`, `name`, ...). Access events name the
user by id, userName and primary email, beside the resource's address.
"""

from rbac.models import Group, User


def directory_user(user: User) -> dict:
    """Return a user as WorkOS's directory user object (emails as the IdP sent them)."""
    return _directory_object("directory_user", user) | {
        "username": user.user_name,
        "emails": [
            {"value": e.value, "type": e.type_key, "primary": bool(e.primary)} for e in user.emails
        ],
        "first_name": user.given_name,
        "last_name": user.family_name,
        "display_name": user.display_name,
        "state": "active" if user.active else "inactive",
    }


def directory_group(group: Group) -> dict:
    """Return a group as WorkOS's directory group object; local groups have no directory."""
    return _directory_object("directory_group", group) | {
        "name": group.display_name,
        "slug": group.slug,
        "local": group.directory_id is None,
    }


def _directory_object(kind: str, row: User | Group) -> dict:
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


def person_of_snapshot(snapshot: dict) -> dict:
    """Return how access events name a deleted user, from its directory object."""
    emails = [(e.get("value"), bool(e.get("primary"))) for e in snapshot.get("emails", [])]
    return person(snapshot.get("id"), snapshot.get("username"), emails)


def person_of_user(user: User) -> dict:
    """Return how access events name a user, from its loaded row."""
    return person(user.id, user.user_name, [(e.value, bool(e.primary)) for e in user.emails])
