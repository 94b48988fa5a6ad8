"""What every /api/v1 schema module shares: storable text, references, input, pages, errors."""

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

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


class StrictSchema(Schema):
    """An input schema: an unknown field is an error, never silently ignored."""

    class Meta:
        """marshmallow options."""

        unknown = RAISE


def reference(description: str) -> fields.String:
    """A required name or id, bounded and storable (see REFERENCE)."""
    return fields.String(required=True, validate=REFERENCE, metadata={"description": description})


def at_least_one(message: str):
    """A change schema's validator: the body names at least one field, else this message."""

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError(message)

    return _not_empty


MAX_PAGE = 1000


def page_after(maximum: int, description: str) -> fields.Integer:
    """A page's integer cursor: rows after this id (0: from the first), at most `maximum`."""
    return fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=maximum),
        metadata={"description": description},
    )


def page_limit(default: int, description: str) -> fields.Integer:
    """How many rows a page holds at most: 1 to MAX_PAGE."""
    return fields.Integer(
        load_default=default,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": description},
    )


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


def page_schema(item, name: str) -> type[Schema]:
    """A page schema of these items, with the cursor to resume from."""
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.Integer(
                required=True, metadata={"description": "pass as `after` for the next page"}
            ),
            "has_more": fields.Boolean(required=True),
        },
        name=name,
    )
