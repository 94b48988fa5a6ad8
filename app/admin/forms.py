"""Flask-WTF forms of /admin: each carries its CSRF token; fields are validated here."""

from flask import flash
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import EqualTo, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from rbac.errors import InvalidValue
from rbac.models import Provider
from rbac.resources import ASSET_KINDS
from rbac.tenancy import MAX_ROTATION_GRACE

MAX_GRACE_HOURS = int(MAX_ROTATION_GRACE.total_seconds() // 3600)


def flash_errors(form: FlaskForm) -> bool:
    """Flash a sent form's field errors ("Slug: This field is required."); say if any."""
    errors = [(field.label.text, error) for field in form for error in field.errors]
    for label, error in errors:
        flash(f"{label}: {error}", "error")
    return bool(errors)


def checked(form: FlaskForm, message: str | None = None) -> FlaskForm:
    """Return a sent form whose fields are valid; else refuse it, saying why, changing nothing."""
    if form.validate():
        return form
    errors = [f"{field.label.text}: {error}" for field in form for error in field.errors]
    raise InvalidValue(message or "; ".join(errors) or "the form is incomplete")


class LoginForm(FlaskForm):
    """The login form: `email` and `password` (PRODUCT.md names these fields)."""

    email = EmailField("Email", validators=[InputRequired(), Length(max=256)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (the one-time link's form)."""

    password = PasswordField("New password", validators=[InputRequired(), Length(max=1024)])
    again = PasswordField(
        "The same again",
        validators=[InputRequired(), EqualTo("password", message="the two passwords differ")],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class RotateForm(FlaskForm):
    """Rotating a directory's tokens: how long the old ones keep working."""

    grace_hours = IntegerField(
        "Old tokens keep working for (hours)",
        default=24,
        validators=[InputRequired(), NumberRange(0, MAX_GRACE_HOURS)],
    )


class DirectoryForm(FlaskForm):
    """A new IdP connection: its name and provider (which selects its tolerance profile)."""

    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    provider = SelectField("Provider", choices=[provider.value for provider in Provider])


class TokenForm(FlaskForm):
    """A new directory token: in how many days it expires (never, if left empty)."""

    expires_in_days = IntegerField(
        "Expires in (days)", validators=[Optional(), NumberRange(1, 3650)]
    )


class ProjectForm(FlaskForm):
    """A new project: its slug."""

    slug = StringField("Project slug", validators=[InputRequired(), Length(max=100)])


class AssetForm(FlaskForm):
    """A new asset of a project: its slug and kind."""

    slug = StringField("Asset slug", validators=[InputRequired(), Length(max=100)])
    kind = SelectField("Kind", choices=list(ASSET_KINDS))


class HolderRoleForm(FlaskForm):
    """A role for a user (direct grant) or a group (assignment), named by name or id."""

    holder = StringField("Name", validators=[InputRequired(), Length(max=512)])
    role = SelectField("Role", choices=[])


class LocalUserForm(FlaskForm):
    """A new local user: a userName (an email, typically) and an optional display name."""

    user_name = StringField("userName", validators=[InputRequired(), Length(max=256)])
    display_name = StringField("Display name", validators=[Length(max=256)])


class GroupForm(FlaskForm):
    """A new local group: its name, slug and (optional) description."""

    name = StringField("Name", validators=[InputRequired(), Length(max=256)])
    slug = StringField("Slug", validators=[InputRequired(), Length(max=64)])
    description = StringField("Description", validators=[Length(max=1000)])


class RenameForm(FlaskForm):
    """A local group's new name and description."""

    name = StringField("Name", validators=[InputRequired(), Length(max=256)])
    description = StringField("Description", validators=[Length(max=1000)])


class MemberForm(FlaskForm):
    """A member to add to a local group: a user or a group, by name or id."""

    member = StringField("User or group", validators=[InputRequired(), Length(max=512)])
    kind = SelectField("Kind", choices=["user", "group"])


class ApiKeyForm(FlaskForm):
    """A new API key: a name to tell it apart, its role, and in how many days it expires."""

    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    # The least power first: most applications only ask check and explain.
    role = SelectField("Role", choices=["checker", "viewer", "admin"])
    expires_in_days = IntegerField(
        "Expires in (days)", validators=[Optional(), NumberRange(1, 3650)]
    )


class GrantForm(FlaskForm):
    """A direct grant from a user's page: the resource's address and a role of its scope."""

    resource = StringField("Resource", validators=[InputRequired(), Length(max=512)])
    role = SelectField("Role", choices=[])


class AgentsForm(FlaskForm):
    """The agents a workforce uses: a checkbox for each agent of its project."""

    agents = SelectMultipleField(
        "Agents",
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class WebhookForm(FlaskForm):
    """A new webhook endpoint: its URL and, optionally, the event types it wants."""

    url = StringField("URL", validators=[InputRequired(), Length(max=2048)])
    events = StringField("Events", validators=[Length(max=2000)])


class SecretRotationForm(FlaskForm):
    """A webhook secret's rotation: how many hours the old secret keeps signing beside it."""

    overlap_hours = IntegerField(
        "Old secret signs for (hours)", default=24, validators=[Optional(), NumberRange(0, 720)]
    )


class ReplayForm(FlaskForm):
    """Where a replay starts: an event id."""

    from_event = IntegerField("From event", validators=[InputRequired(), NumberRange(1, 2**63 - 1)])
