"""Finding an organization's users and groups by the names operators and scripts use.

A user is named by its id or userName, a group by its id, displayName or (a local group) slug;
within one directory when one is named. Reads only: no authorization, nothing written.
"""

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from rbac.db import casefold_key
from rbac.errors import InvalidValue, NotFound
from rbac.models import Directory, Group, Organization, User


def find_user(
    session: Session, org: Organization, reference: str, directory: str | None = None
) -> User:
    """Return the org's user with this id or userName (within a directory if named)."""
    return _find(session, org, User, User.user_name_key, reference, directory, "user")


def find_group(
    session: Session, org: Organization, reference: str, directory: str | None = None
) -> Group:
    """Return the org's group with this id, displayName or (local groups) slug."""
    return _find(session, org, Group, Group.display_name_key, reference, directory, "group")


def list_users(session: Session, org: Organization, directory: str | None = None) -> list[User]:
    """Return the org's users (of one directory if named), by userName."""
    query = _scoped(select(User), User, org, directory).order_by(User.user_name_key, User.id)
    return list(session.scalars(query))


def list_groups(
    session: Session, org: Organization, directory: str | None = None, limit: int | None = None
) -> list[Group]:
    """Return the org's groups (of one directory if named), by displayName; the first `limit`."""
    query = _scoped(select(Group), Group, org, directory)
    return list(session.scalars(query.order_by(Group.display_name_key, Group.id).limit(limit)))


def _scoped(query, model, org: Organization, directory: str | None):
    query = query.where(model.organization_id == org.id)
    if directory is not None:
        query = query.join(Directory, Directory.id == model.directory_id).where(
            Directory.name == directory
        )
    return query


def lookup_params(org: Organization, reference: str) -> dict[str, str]:
    """Return the values USER_BY_REFERENCE binds for a user named by id or userName."""
    return {"org": org.id, "reference": reference, "key": casefold_key(reference)}


def _find(session, org, model, name_key, reference: str, directory: str | None, what: str):
    # One statement: the id, or else the name (a group's slug too); an id match wins.
    params = lookup_params(org, reference)
    if directory is not None:
        params["directory"] = directory
    matches = list(session.scalars(_LOOKUPS[model, directory is not None], params))
    by_id = [match for match in matches if match.id == reference]
    if by_id:
        return by_id[0]
    where = f"organization {org.slug!r}" + (f", directory {directory!r}" if directory else "")
    if not matches:
        raise NotFound(f"no {what} {reference!r} in {where}")
    if len(matches) > 1:
        raise InvalidValue(
            f"{len(matches)} {what}s named {reference!r} in {where}: "
            "name one by its id, or with --directory"
        )
    return matches[0]


def _lookup(model, name_key, by_directory: bool):
    named = or_(model.id == bindparam("reference"), name_key == bindparam("key"))
    if model is Group:
        named = or_(named, Group.slug == bindparam("reference"))  # a local group's slug
    query = select(model).where(model.organization_id == bindparam("org"), named)
    if by_directory:
        query = query.join(Directory, Directory.id == model.directory_id).where(
            Directory.name == bindparam("directory")
        )
    return query


# Built once, run with values bound: check finds its user on every request, and composing a
# statement costs more than running it (docs/performance.md).
_LOOKUPS = {
    (model, by_directory): _lookup(model, name_key, by_directory)
    for model, name_key in ((User, User.user_name_key), (Group, Group.display_name_key))
    for by_directory in (False, True)
}
# A user of an organization by id or userName (binds what lookup_params returns).
USER_BY_REFERENCE = _LOOKUPS[User, False]
