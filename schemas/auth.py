"""The login body in, the token out (contract §5)."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.fields import UtcTimestamp, printable_text
from security.passwords import MAX_LENGTH


class OneTimePassword(fields.Field):
    """Six digits as a string, or an integer (zero-padded: 12345 is "012345")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 12345.0 is the integer 12345
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 999999:
                raise ValidationError("A one-time password has six digits.")
            return f"{value:06d}"
        if isinstance(value, str):
            code = value.strip(" ")
            if len(code) == 6 and code.isascii() and code.isdigit():
                return code
            raise ValidationError("A one-time password has six digits.")
        raise ValidationError("Not a valid one-time password: give six digits as a string or an integer.")


NOT_EMPTY = validate.Length(min=1, error="Must not be empty.")


class LoginSchema(Schema):
    """A person's username and password (and one-time password), or a machine's API key alone."""

    class Meta:
        unknown = RAISE

    username = fields.String(load_default=None, validate=[NOT_EMPTY, validate.Length(max=150), printable_text])
    password = fields.String(load_default=None, validate=[NOT_EMPTY, validate.Length(max=MAX_LENGTH)])
    otp = OneTimePassword(load_default=None, allow_none=True)
    apiKey = fields.String(load_default=None, data_key="apiKey", attribute="api_key",
                           validate=[NOT_EMPTY, validate.Length(max=100)])

    @validates_schema
    def one_way_in(self, data, **kwargs):
        if data["api_key"] is not None:
            extra = [name for name in ("username", "password", "otp") if data[name] is not None]
            if extra:
                raise ValidationError({name: ["Not with apiKey: a key is the whole credential."] for name in extra})
            return
        missing = [name for name in ("username", "password") if data[name] is None]
        if missing:
            raise ValidationError({name: ["This field is required (or give apiKey alone)."] for name in missing})


class TokenSchema(Schema):
    token = fields.String()
    tokenType = fields.Constant("Bearer")
    expiresIn = fields.Integer(attribute="expires_in")
    expiresAt = UtcTimestamp(attribute="expires_at")


class PingUserSchema(Schema):
    id = fields.Function(lambda claims: int(claims["sub"]))
    name = fields.String()
    email = fields.String()
    role = fields.String()


login_schema = LoginSchema()
token_schema = TokenSchema()
ping_user_schema = PingUserSchema()
