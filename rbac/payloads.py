"""Event payloads: users and groups shaped as WorkOS's directory objects, and people named.

A consumer migrating from WorkOS Directory Sync finds in `dsync.*` events the objects it
knows (`id`, `directory_id`, `organization_id`, `idp_id`, `username`, `emails`, `first_name`,
`last_name`, `state`, `raw_attributes`; for groups `id`, `name`, ...). Access events name the
user by id, userName and primary email, beside the resource's address.
"""

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
