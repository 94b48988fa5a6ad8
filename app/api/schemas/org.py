"""Marshmallow schemas of the organization's /api/v1 routes: catalog, settings, directories."""

from marshmallow import Schema, fields, validate

from app.api.schemas.common import StrictSchema, at_least_one, storable
from rbac.tenancy import TokenState


class RoleOut(Schema):
    """A role of the catalog: its scope, rank, description and permissions."""

    scope = fields.String(metadata={"description": "organization, project or asset"})
    name = fields.String()
    description = fields.String()
    additive = fields.Boolean(metadata={"description": "held beside the ladder's role"})
    rank = fields.Integer(metadata={"description": "higher is stronger; additive roles: 0"})
    permissions = fields.List(fields.String())


class PermissionOut(Schema):
    """A permission and every role that holds it (`scope:name`)."""

    id = fields.String()
    roles = fields.List(fields.String())


class CatalogOut(Schema):
    """The role catalog the engine evaluates with (the same as `rolecall catalog`)."""

    roles = fields.List(
        fields.Nested(RoleOut), metadata={"description": "each ladder, highest first"}
    )
    permissions = fields.List(fields.Nested(PermissionOut))


class SettingsOut(Schema):
    """The organization's settings that change everyone's access."""

    default_role = fields.String(
        allow_none=True, metadata={"description": "the org role every active user holds, or null"}
    )
    group_roles_enabled = fields.Boolean(metadata={"description": "whether groups grant roles"})


class SettingsIn(StrictSchema):
    """A change of settings: either field, or both (each recomputes everyone's access)."""

    default_role = fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=64), storable],
        metadata={"description": "an org ladder role below the top one, or null for none"},
    )
    group_roles_enabled = fields.Boolean(
        metadata={"description": "off: group-derived roles stop counting (and are kept)"}
    )
    _not_empty = at_least_one("name default_role, group_roles_enabled or both")


class TokenOut(Schema):
    """A directory's bearer token, never its secret: its prefix, state and last use."""

    id = fields.Integer()
    prefix = fields.String()
    state = fields.String(validate=validate.OneOf([state.value for state in TokenState]))
    created_at = fields.DateTime(format="iso")
    last_used_at = fields.DateTime(format="iso", allow_none=True)
    expires_at = fields.DateTime(format="iso", allow_none=True)


class DirectoryOut(Schema):
    """An IdP directory: its provider, the SCIM base URL to give the IdP, state and tokens."""

    name = fields.String()
    provider = fields.String()
    scim_base_url = fields.String()
    enabled = fields.Boolean(metadata={"description": "false: its tokens get 403 (paused)"})
    created_at = fields.DateTime(format="iso")
    tokens = fields.List(fields.Nested(TokenOut))


class DirectoriesOut(Schema):
    """Every directory of the organization, by name."""

    data = fields.List(fields.Nested(DirectoryOut))


class DirectoryIn(StrictSchema):
    """A change of a directory: pause (false) or resume (true) its provisioning."""

    enabled = fields.Boolean(required=True)


class JournalQuery(StrictSchema):
    """Query parameters of a directory's journal: how many lines, errors only or all."""

    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "at most this many lines, newest first"},
    )
    errors = fields.Boolean(
        load_default=False, metadata={"description": "only requests answered 400 and up"}
    )


class JournalLineOut(Schema):
    """One SCIM request of a directory (never a secret; path and detail stored escaped)."""

    id = fields.Integer()
    created_at = fields.DateTime(format="iso")
    method = fields.String()
    path = fields.String()
    status = fields.Integer()
    duration_ms = fields.Float()
    tolerances = fields.List(fields.String(), metadata={"description": "IdP quirks tolerated"})
    correlation_id = fields.String()
    error_detail = fields.String(allow_none=True)


class JournalOut(Schema):
    """A directory's newest SCIM requests, newest first."""

    data = fields.List(fields.Nested(JournalLineOut))
