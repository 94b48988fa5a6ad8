"""Flask-WTF forms of /admin: each carries its CSRF token; fields are validated here."""

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField
from wtforms.validators import InputRequired, Length, NumberRange

from rbac.tenancy import MAX_ROTATION_GRACE

MAX_GRACE_HOURS = int(MAX_ROTATION_GRACE.total_seconds() // 3600)


class LoginForm(FlaskForm):
    """The login form: `email` and `password` (PRODUCT.md names these fields)."""

    email = EmailField("Email", validators=[InputRequired(), Length(max=256)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class RotateForm(FlaskForm):
    """Rotating a directory's tokens: how long the old ones keep working."""

    grace_hours = IntegerField(
        "Old tokens keep working for (hours)",
        default=24,
        validators=[InputRequired(), NumberRange(0, MAX_GRACE_HOURS)],
    )
