"""Accounts, failed-login records for throttling, and the service's own secrets."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class Account(pw.Model):
        username = pw.CharField(max_length=150)
        username_key = pw.TextField(unique=True)
        name = pw.CharField(max_length=200)
        email = pw.CharField(max_length=254)
        role = pw.CharField(max_length=50)
        permissions_json = pw.TextField(default="[]")
        password_hash = pw.CharField(max_length=255)
        totp_secret = pw.CharField(max_length=64, null=True)
        totp_last_step = pw.BigIntegerField(null=True)
        active = pw.BooleanField(default=True)
        token_version = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "account"

    @migrator.create_model
    class LoginFailure(pw.Model):
        key = pw.TextField()
        at = pw.DoubleField()

        class Meta:
            table_name = "login_failure"
            indexes = ((("key", "at"), False),)

    @migrator.create_model
    class ServiceSecret(pw.Model):
        name = pw.CharField(max_length=50, primary_key=True)
        value = pw.CharField(max_length=255)

        class Meta:
            table_name = "service_secret"


def rollback(migrator, database, fake=False, **kwargs):
    for name in ("service_secret", "login_failure", "account"):
        migrator.remove_model(name)
