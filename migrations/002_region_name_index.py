"""Regions are ordered by name (on /regions, and /nodes?order=region): index it like the others."""


def migrate(migrator, database, fake=False, **kwargs):
    migrator.sql("CREATE INDEX region_name ON region (name)")


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("DROP INDEX region_name")
