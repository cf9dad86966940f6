"""API keys for machines (models/api_key.py): a name, the account it acts for, a digest of the key, the
permissions it carries, an optional expiry, and when it was last used or revoked."""
import peewee as pw


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class ApiKey(pw.Model):
        name = pw.CharField(max_length=50, unique=True)
        user = pw.ForeignKeyField(migrator.orm["account"], backref="api_keys", on_delete="CASCADE")
        lookup = pw.CharField(max_length=16, unique=True)
        secret_digest = pw.CharField(max_length=64)
        permissions_json = pw.TextField(default="[]")
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField(null=True)
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "api_key"


def rollback(migrator, database, fake=False, **kwargs):
    migrator.remove_model("api_key")
