"""Marshmallow schemas of /api/v1's users, groups and access routes (app/api/directory.py)."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.schemas.common import REFERENCE, StrictSchema, at_least_one, page_limit, storable

MAX_MEMBERS_CHANGED = 1000


def _text(maximum: int, description: str, **kwargs) -> fields.String:
    """A stored text: 1 to `maximum` characters (the column's width), storable."""
    return fields.String(
        validate=[validate.Length(min=1, max=maximum), storable],
        metadata={"description": description},
        **kwargs,
    )


class PageQuery(StrictSchema):
    """A page of users or groups: of one directory if named, after a cursor (an id)."""

    directory = _text(200, "only those of this directory (its name)")
    after = _text(36, "return those after this id (the previous next_cursor)")
    limit = page_limit(100, "at most this many")


class GroupQuery(StrictSchema):
    """Query parameters of GET /api/v1/groups/{id}."""

    limit = page_limit(100, "list at most this many users and as many nested groups")


class AccessQuery(StrictSchema):
    """Query parameters of GET /api/v1/access."""

    resource = fields.String(
        required=True,
        validate=REFERENCE,
        metadata={"description": "org, project:PROJECT or asset:PROJECT/ASSET"},
    )
    after = _text(36, "return users after this id (the previous next_cursor)")
    limit = page_limit(1000, "at most this many users")


class EmailOut(Schema):
    """One email of a user, as its IdP sent it."""

    value = fields.String(allow_none=True, required=True)
    type = fields.String(allow_none=True, required=True)
    primary = fields.Boolean(required=True)


class _DirectoryObject(Schema):
    """What WorkOS's directory users and groups share."""

    object = fields.String(required=True)
    id = fields.String(required=True)
    directory_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "null when local"}
    )
    organization_id = fields.Integer(required=True)
    idp_id = fields.String(allow_none=True, required=True)
    raw_attributes = fields.Dict(required=True)
    local = fields.Boolean(required=True, metadata={"description": "managed by no IdP"})


class UserOut(_DirectoryObject):
    """A user as WorkOS's directory user object, and whether it is local."""

    username = fields.String(required=True)
    emails = fields.List(fields.Nested(EmailOut), required=True)
    first_name = fields.String(allow_none=True, required=True)
    last_name = fields.String(allow_none=True, required=True)
    display_name = fields.String(allow_none=True, required=True)
    state = fields.String(required=True, metadata={"description": "active or inactive"})


class UsersPage(Schema):
    """A page of users, by id, and the cursor to resume from."""

    data = fields.List(fields.Nested(UserOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    has_more = fields.Boolean(required=True)


class GroupOut(_DirectoryObject):
    """A group as WorkOS's directory group object, with its local attributes and size."""

    name = fields.String(required=True)
    slug = fields.String(allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    member_count = fields.Integer(
        required=True, metadata={"description": "direct members: users and nested groups"}
    )


class GroupsPage(Schema):
    """A page of groups, by id, and the cursor to resume from."""

    data = fields.List(fields.Nested(GroupOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    has_more = fields.Boolean(required=True)


class MemberOut(Schema):
    """A direct member of a group: a user (by userName) or a nested group (by name)."""

    type = fields.String(required=True, validate=validate.OneOf(["user", "group"]))
    id = fields.String(required=True)
    name = fields.String(required=True)


class GroupDetailOut(GroupOut):
    """A group and its direct members (users, then nested groups), up to the limit each."""

    members = fields.List(fields.Nested(MemberOut), required=True)
    members_truncated = fields.Boolean(
        required=True, metadata={"description": "more users or groups than the limit"}
    )


class UserIn(StrictSchema):
    """A new local user."""

    user_name = _text(256, "unique among the org's local users (case-insensitive)", required=True)
    display_name = _text(256, "a name to show", allow_none=True)


class GroupIn(StrictSchema):
    """A new local group."""

    name = _text(256, "its display name", required=True)
    slug = _text(64, "letters, digits, '.', '_' or '-'; unique in the org", required=True)
    description = _text(1000, "what the group is for", allow_none=True)


class GroupPatchIn(StrictSchema):
    """A local group's new name or description (at least one)."""

    name = _text(256, "its new display name")
    description = _text(1000, "its new description")
    _not_empty = at_least_one("give a name, a description or both")


class MembersIn(StrictSchema):
    """Users and groups to add to, or remove from, a local group (at least one)."""

    users = fields.List(
        fields.String(validate=REFERENCE),
        load_default=list,
        validate=validate.Length(max=MAX_MEMBERS_CHANGED),
        metadata={"description": "users' ids or userNames"},
    )
    groups = fields.List(
        fields.String(validate=REFERENCE),
        load_default=list,
        validate=validate.Length(max=MAX_MEMBERS_CHANGED),
        metadata={"description": "groups' ids, names or slugs (nested in this one)"},
    )

    @validates_schema
    def _something(self, data, **kwargs):
        if not data["users"] and not data["groups"]:
            raise ValidationError("name at least one user or group")


class UserRefOut(Schema):
    """A user named by id and userName."""

    id = fields.String(required=True)
    username = fields.String(required=True)


class AccessOut(Schema):
    """A user's effective access on a resource and the source that wins it."""

    resource = fields.String(required=True, metadata={"description": "the resource's address"})
    role = fields.String(allow_none=True, required=True)
    additive = fields.List(fields.String(), required=True)
    source = fields.String(allow_none=True, required=True)


class UserAccessOut(Schema):
    """Every resource a user has access to, by address, with its role and source."""

    user = fields.Nested(UserRefOut, required=True)
    access = fields.List(fields.Nested(AccessOut), required=True)


class HolderOut(Schema):
    """A user with access to a resource, their role and its source."""

    user = fields.Nested(UserRefOut, required=True)
    role = fields.String(allow_none=True, required=True)
    additive = fields.List(fields.String(), required=True)
    source = fields.String(allow_none=True, required=True)


class ResourceAccessOut(Schema):
    """Everyone with access to a resource, and why (a page, by user id)."""

    resource = fields.String(required=True)
    data = fields.List(fields.Nested(HolderOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    has_more = fields.Boolean(required=True)
