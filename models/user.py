"""Accounts that may log in. Usernames are unique without regard to case."""

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField, TextField

from models.base import BaseModel, WithPermissions
from models.location import fold
from models.node import naive_utc_now


class User(BaseModel, WithPermissions):
    username = CharField(max_length=150)
    # fold(username): case folding can make it longer than the name (ß -> ss), so unbounded.
    username_key = TextField(unique=True)
    name = CharField(max_length=200)
    email = CharField(max_length=254)
    role = CharField(max_length=50)
    password_hash = CharField(max_length=255)
    totp_secret = CharField(max_length=64, null=True)
    # The last TOTP time step accepted: a code is good once (claimed atomically in the database).
    totp_last_step = BigIntegerField(null=True)
    active = BooleanField(default=True)
    # Part of every token; moving it revokes every token issued before.
    token_version = IntegerField(default=0)
    created_at = DateTimeField(default=naive_utc_now)
    updated_at = DateTimeField(default=naive_utc_now)

    class Meta:
        table_name = "account"  # "user" is reserved in PostgreSQL

    @classmethod
    def by_username(cls, username: str):
        return cls.get_or_none(cls.username_key == fold(username))

    def claim_totp_step(self, step: int) -> bool:
        """True for the first use of `step` (or a later one) by this user, on any worker or instance."""
        updated = (User.update(totp_last_step=step)
                   .where((User.id == self.id) & (User.totp_last_step.is_null() | (User.totp_last_step < step)))
                   .execute())
        return updated == 1
