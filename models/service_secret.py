"""Secrets the service makes for itself, kept where every worker, instance and restart finds them."""
import secrets

from peewee import CharField

from models.base import BaseModel


class ServiceSecret(BaseModel):
    name = CharField(max_length=50, primary_key=True)
    value = CharField(max_length=255)

    class Meta:
        table_name = "service_secret"


def shared_secret(name: str) -> str:
    """The stored secret `name`, made on first use; concurrent first uses agree on one value."""
    ServiceSecret.insert(name=name, value=secrets.token_urlsafe(48)).on_conflict_ignore().execute()
    return ServiceSecret.get_by_id(name).value
