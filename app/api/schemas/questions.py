"""Schemas of check, explain and a group's grants (app/api/questions.py)."""

from marshmallow import Schema, fields

from app.api.schemas.common import StrictSchema, reference

MAX_CHECKS = 100


class CheckIn(StrictSchema):
    """One question: may this user use this permission on this resource."""

    user = reference("a user's id or userName")
    permission = reference("e.g. project.view")
    resource = reference("org, project:PROJECT or asset:PROJECT/ASSET")


class CheckOut(Schema):
    """The answer to a check: allowed or not, the deciding role and its winning source."""

    allowed = fields.Boolean(required=True)
    role = fields.String(allow_none=True, required=True)
    additive = fields.List(fields.String(), required=True)
    source = fields.String(allow_none=True, required=True)
    reason = fields.String(required=True)


class CheckListOut(Schema):
    """The answers to a list of checks, in the order asked."""

    results = fields.List(fields.Nested(CheckOut), required=True)


class ExplainQuery(StrictSchema):
    """Query parameters of GET /api/v1/explain."""

    user = reference("a user's id or userName")
    resource = reference("org, project:PROJECT or asset:PROJECT/ASSET")


class _SourceFields(Schema):
    """One source of a user's role on a resource, in words."""

    kind = fields.String(required=True)
    role = fields.String(allow_none=True, required=True)
    detail = fields.String(required=True)


class SourceOut(_SourceFields):
    """A source in effect, and whether it wins."""

    wins = fields.Boolean(required=True)


class SuspendedSourceOut(_SourceFields):
    """A source the user holds that is not in effect, and why."""

    because = fields.String(
        required=True,
        metadata={"description": "the user is deactivated, or group roles are off"},
    )


class ExplainOut(Schema):
    """Every source of a user's role on a resource (as `rolecall explain --json` prints it)."""

    user = fields.String(required=True)
    resource = fields.String(required=True)
    active = fields.Boolean(required=True)
    role = fields.String(allow_none=True, required=True)
    additive = fields.List(fields.String(), required=True)
    winner = fields.String(allow_none=True, required=True)
    winner_detail = fields.String(allow_none=True, required=True)
    sources = fields.List(fields.Nested(SourceOut), required=True)
    suspended = fields.List(fields.Nested(SuspendedSourceOut), required=True)
    workforce_rule = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "for a workforce: each permission its agents withhold, and why"},
    )
    materialised_role = fields.String(allow_none=True, required=True)


class GroupGrantOut(Schema):
    """One role a group holds on a resource, itself or through a parent group."""

    resource = fields.String(required=True)
    role = fields.String(required=True)
    through = fields.String(
        allow_none=True, required=True, metadata={"description": "the parent group, if inherited"}
    )


class GroupGrantsOut(Schema):
    """Everything a group grants (its own and inherited assignments) and to whom."""

    group = fields.String(required=True)
    local = fields.Boolean(required=True)
    grants = fields.List(fields.Nested(GroupGrantOut), required=True)
    members = fields.List(
        fields.String(), required=True, metadata={"description": "transitive members"}
    )
    group_roles_enabled = fields.Boolean(required=True)
