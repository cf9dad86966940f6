"""The login body in, the token out (contract §5)."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate

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


REQUIRED = {"required": "This field is required."}
NOT_EMPTY = validate.Length(min=1, error="Must not be empty.")


class LoginSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.String(required=True, error_messages=REQUIRED,
                             validate=[NOT_EMPTY, validate.Length(max=150), printable_text])
    password = fields.String(required=True, error_messages=REQUIRED,
                             validate=[NOT_EMPTY, validate.Length(max=MAX_LENGTH)])
    otp = OneTimePassword(load_default=None, allow_none=True)


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
