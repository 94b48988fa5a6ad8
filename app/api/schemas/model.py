"""Marshmallow schemas of the model's /api/v1 routes: projects, assets, grants, assignments."""

from marshmallow import Schema, fields, validate

from app.api.schemas.common import (
    REFERENCE,
    StrictSchema,
    page_after,
    page_limit,
    page_schema,
    reference,
    storable,
)
from rbac.resources import ASSET_KINDS, SLUG

MAX_USES = 100
_SLUG = [
    validate.Length(min=1, max=100),
    storable,
    validate.Regexp(
        f"^{SLUG.pattern}$",
        error="1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
]


def _slug(description: str, **kwargs) -> fields.String:
    """A resource slug, validated as the domain does (so a bad one is a per-field 422)."""
    return fields.String(validate=_SLUG, metadata={"description": description}, **kwargs)


class PageQuery(StrictSchema):
    """A cursor page: the rows whose id is above `after`, at most `limit` of them."""

    # Resource, grant and assignment ids are INTEGERs: PostgreSQL refuses a larger operand.
    after = page_after(2**31 - 1, "return rows after this id (the previous next_cursor)")
    limit = page_limit(100, "at most this many rows")


class GrantsQuery(PageQuery):
    """Query parameters of GET /api/v1/grants: a page, optionally of one user or resource."""

    user = fields.String(validate=REFERENCE, metadata={"description": "a user's id or userName"})
    resource = fields.String(
        validate=REFERENCE, metadata={"description": "org, project:PROJECT or asset:PROJECT/ASSET"}
    )


class AssignmentsQuery(PageQuery):
    """Query parameters of GET /api/v1/assignments: a page, optionally of one group or resource."""

    group = fields.String(
        validate=REFERENCE, metadata={"description": "a group's id, displayName or slug"}
    )
    resource = fields.String(
        validate=REFERENCE, metadata={"description": "org, project:PROJECT or asset:PROJECT/ASSET"}
    )


class GrantTriple(StrictSchema):
    """Query parameters of DELETE /api/v1/grants: the grant to take back."""

    user = reference("a user's id or userName")
    role = reference("a role of the resource's scope, e.g. editor")
    resource = reference("org, project:PROJECT or asset:PROJECT/ASSET")


class AssignmentTriple(StrictSchema):
    """Query parameters of DELETE /api/v1/assignments: the assignment to take back."""

    group = reference("a group's id, displayName or (local groups) slug")
    role = reference("a role of the resource's scope, e.g. editor")
    resource = reference("org, project:PROJECT or asset:PROJECT/ASSET")


class GrantIn(GrantTriple):
    """A direct grant to give: a user, a role of the resource's scope, a resource."""


class AssignmentIn(AssignmentTriple):
    """A group assignment to make: a group, a role of the resource's scope, a resource."""


class ProjectIn(StrictSchema):
    """A project to create."""

    slug = _slug("the project's slug (its address is project:SLUG)", required=True)


class AssetIn(StrictSchema):
    """An asset to create in a project; its creator (if named) becomes its admin."""

    slug = _slug("the asset's slug (its address is asset:PROJECT/SLUG)", required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(ASSET_KINDS), metadata={"description": "asset kind"}
    )
    creator = fields.String(
        validate=REFERENCE,
        metadata={"description": "a user's id or userName: gets the asset's admin role"},
    )
    uses = fields.List(
        _slug("an agent of the same project"),
        validate=validate.Length(max=MAX_USES),
        metadata={"description": "for a workforce: the agents it uses"},
    )


class AssetPatchIn(StrictSchema):
    """A change of an asset: the agents a workforce uses (replacing the list)."""

    uses = fields.List(
        _slug("an agent of the same project"),
        required=True,
        validate=validate.Length(max=MAX_USES),
        metadata={"description": "every agent the workforce uses from now on"},
    )


class ProjectOut(Schema):
    """A project of the organization."""

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    resource = fields.String(required=True, metadata={"description": "its address"})
    created_at = fields.DateTime(format="iso", required=True)


class AssetOut(Schema):
    """An asset: its kind, its creator (a user id, if any), the agents a workforce uses."""

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    project = fields.String(required=True, metadata={"description": "the project's slug"})
    kind = fields.String(required=True)
    resource = fields.String(required=True, metadata={"description": "its address"})
    creator = fields.String(allow_none=True, required=True, metadata={"description": "user id"})
    uses = fields.List(
        fields.String(), required=True, metadata={"description": "agent slugs (workforces)"}
    )
    created_at = fields.DateTime(format="iso", required=True)


class GrantOut(Schema):
    """A role given directly to a user on a resource."""

    id = fields.Integer(required=True)
    user = fields.String(required=True, metadata={"description": "the user's id"})
    user_name = fields.String(required=True)
    role = fields.String(required=True)
    resource = fields.String(required=True, metadata={"description": "the resource's address"})
    granted_by = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(format="iso", required=True)


class AssignmentOut(Schema):
    """A role a group holds on a resource (every transitive member inherits it)."""

    id = fields.Integer(required=True)
    group = fields.String(required=True, metadata={"description": "the group's id"})
    group_name = fields.String(required=True, metadata={"description": "its displayName"})
    role = fields.String(required=True)
    resource = fields.String(required=True, metadata={"description": "the resource's address"})
    assigned_by = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(format="iso", required=True)


ProjectsPage = page_schema(ProjectOut, "ProjectsPage")
AssetsPage = page_schema(AssetOut, "AssetsPage")
GrantsPage = page_schema(GrantOut, "GrantsPage")
AssignmentsPage = page_schema(AssignmentOut, "AssignmentsPage")
