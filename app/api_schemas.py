"""Marshmallow schemas of /api/v1: every input and output, and so its OpenAPI document."""

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

# NUL and lone surrogates: no database stores them (PostgreSQL refuses NUL in text, and a
# lone surrogate cannot be encoded as UTF-8), so they are refused here, not by the driver.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> None:
    """Refuse NUL and lone surrogates, which no database stores."""
    if _UNSTORABLE.search(text):
        raise ValidationError("NUL characters and lone surrogates are not allowed.")


# Lengths well above any stored value (userName 256, slugs 100, permission ids ~40), so that a
# too-long value is a 422 here rather than a surprise in the database.
REFERENCE = [validate.Length(min=1, max=512), storable]
MAX_CHECKS = 100


class StrictSchema(Schema):
    """An input schema: an unknown field is an error, never silently ignored."""

    class Meta:
        """marshmallow options."""

        unknown = RAISE


class EventsQuery(StrictSchema):
    """Query parameters of GET /api/v1/events."""

    # Event ids are BIGINTs: a cursor past 2**63 - 1 cannot name one (and overflows drivers).
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "return events after this id (the previous next_cursor)"},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "at most this many events"},
    )


class EventOut(Schema):
    """One event as consumers read it; `id` is the cursor and a stable idempotency key.

    Documents `rbac.wire.event_document`, which builds what is served and sent.
    """

    id = fields.Integer()
    type = fields.String()
    created_at = fields.DateTime(format="iso")
    data = fields.Dict()


class EventsPage(Schema):
    """A page of events and the cursor to resume from."""

    data = fields.List(fields.Nested(EventOut))
    next_cursor = fields.Integer(metadata={"description": "pass as `after` for the next page"})
    has_more = fields.Boolean()


def _reference(description: str) -> fields.String:
    """A required name or id, bounded and storable (see REFERENCE)."""
    return fields.String(required=True, validate=REFERENCE, metadata={"description": description})


class CheckIn(StrictSchema):
    """One question: may this user use this permission on this resource."""

    user = _reference("a user's id or userName")
    permission = _reference("e.g. project.view")
    resource = _reference("org, project:PROJECT or asset:PROJECT/ASSET")


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

    user = _reference("a user's id or userName")
    resource = _reference("org, project:PROJECT or asset:PROJECT/ASSET")


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


class ErrorDetail(Schema):
    """What went wrong: a stable code, a sentence, and per-field messages where there are."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(
        required=True,
        allow_none=True,
        metadata={"description": "per-field messages of invalid input, else null"},
    )


class ErrorOut(Schema):
    """Every /api/v1 error."""

    error = fields.Nested(ErrorDetail, required=True)
