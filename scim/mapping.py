"""The one place that knows SCIM attribute names: ORM rows to SCIM resources and back."""

from collections.abc import Iterable

from scim2_models import Context, EnterpriseUser, Group, GroupMember, User
from sqlalchemy import literal

from rbac import models
from rbac.provisioning import EmailFields, GroupFields, UserFields
from scim.filters import Column, Related, Schema
from web.urls import external_url

ScimUser = User[EnterpriseUser]
ScimGroup = Group

_USER = "urn:ietf:params:scim:schemas:core:2.0:user:"
_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group:"
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

_USER_COLUMNS = {
    _USER + "id": Column(models.User.id, string=True),
    _USER + "username": Column(models.User.user_name_key, casefold=True),
    _USER + "externalid": Column(models.User.external_id, string=True),
    _USER + "displayname": Column(models.User.display_name_key, casefold=True),
    _USER + "active": Column(models.User.active),
    _USER + "meta.created": Column(models.User.created_at),
    _USER + "meta.lastmodified": Column(models.User.updated_at),
    _USER + "meta.resourcetype": Column(literal("User"), string=True),
    _USER + "emails": Related(
        lambda: models.UserEmail.user_id == models.User.id,
        {
            "value": Column(models.UserEmail.value_key, casefold=True),
            "type": Column(models.UserEmail.type_key, casefold=True),
            "primary": Column(models.UserEmail.primary),
        },
    ),
}

_GROUP_COLUMNS = {
    _GROUP + "id": Column(models.Group.id, string=True),
    _GROUP + "displayname": Column(models.Group.display_name_key, casefold=True),
    _GROUP + "externalid": Column(models.Group.external_id, string=True),
    _GROUP + "meta.created": Column(models.Group.created_at),
    _GROUP + "meta.lastmodified": Column(models.Group.updated_at),
    _GROUP + "meta.resourcetype": Column(literal("Group"), string=True),
    _GROUP + "members": Related(
        lambda: models.GroupMembership.group_id == models.Group.id,
        {"value": Column(models.GroupMembership.user_id, string=True)},
    ),
}

# A user's groups are its memberships, not in its document: not filtered, rather than empty.
USER_SCHEMA = Schema(
    _USER_COLUMNS, models.User.attributes, _USER.rstrip(":"), unfilterable=frozenset({"groups"})
)
GROUP_SCHEMA = Schema(_GROUP_COLUMNS, models.Group.attributes, _GROUP.rstrip(":"))

# Attributes that are not the IdP's to set, or that are derived from other tables.
_NOT_STORED = ("id", "meta", "password", "groups", "members")


def etag(row: models.User | models.Group) -> str:
    """Return the weak ETag (meta.version) of a user or group row."""
    return f'W/"{row.version}"'


def user_fields(user: ScimUser) -> UserFields:
    """Read what a validated SCIM user says into the domain's terms."""
    return UserFields(
        user_name=user.user_name,
        external_id=user.external_id,
        display_name=user.display_name,
        given_name=user.name.given_name if user.name else None,
        family_name=user.name.family_name if user.name else None,
        active=True if user.active is None else user.active,
        emails=tuple(
            EmailFields(
                value=email.value,
                type=None if email.type is None else str(email.type),
                primary=email.primary,
            )
            for email in user.emails or ()
        ),
        attributes=_without_manager_ref(_stored_document(user)),
    )


def group_fields(group: ScimGroup) -> GroupFields:
    """Read what a validated SCIM group says (members aside) into the domain's terms."""
    return GroupFields(
        display_name=group.display_name,
        external_id=group.external_id,
        attributes=_stored_document(group),
    )


def group_members(group: ScimGroup) -> dict[str, str | None]:
    """Return the members a SCIM group lists, as {user id: display}."""
    return {m.value: m.display for m in group.members or () if m.value is not None}


def to_scim_user(row: models.User) -> ScimUser:
    """Build the SCIM user of a row."""
    document = {**row.attributes, "id": row.id, "meta": _meta(row, "User", "scim.get_user")}
    manager = document.get(_ENTERPRISE, {}).get("manager")
    if isinstance(manager, dict) and isinstance(manager.get("value"), str):
        located = {**manager, "$ref": external_url("scim.get_user", user_id=manager["value"])}
        document[_ENTERPRISE] = {**document[_ENTERPRISE], "manager": located}
    return ScimUser.model_validate(document)


def to_scim_group(
    row: models.Group, members: Iterable[tuple[str, str | None, str]] | None = None
) -> ScimGroup:
    """Build the SCIM group of a row; members, (id, display, type) triples, only when given."""
    document = {**row.attributes, "id": row.id, "meta": _meta(row, "Group", "scim.get_group")}
    group = ScimGroup.model_validate(document)
    if members is not None:
        group.members = [
            GroupMember(
                value=member_id,
                type=kind,
                display=display,
                ref=external_url(
                    "scim.get_user" if kind == "User" else "scim.get_group",
                    **{f"{kind.lower()}_id": member_id},
                ),
            )
            for member_id, display, kind in members
        ]
    return group


def _meta(row: models.User | models.Group, resource_type: str, endpoint: str) -> dict:
    """Return a row's meta as values, which the resource's validation makes a Meta of."""
    return {
        "resourceType": resource_type,
        "created": row.created_at,
        "lastModified": row.updated_at,
        "location": external_url(endpoint, **{f"{resource_type.lower()}_id": row.id}),
        "version": etag(row),
    }


def _without_manager_ref(document: dict) -> dict:
    """Drop manager.$ref, derived from manager.value on the way out: never store a URL."""
    manager = document.get(_ENTERPRISE, {}).get("manager")
    if isinstance(manager, dict):
        manager.pop("$ref", None)
    return document


def _stored_document(resource: ScimUser | ScimGroup) -> dict:
    document = resource.model_dump(scim_ctx=Context.DEFAULT, mode="json")
    for name in _NOT_STORED:
        document.pop(name, None)
    return document
