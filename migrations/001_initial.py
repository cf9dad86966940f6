"""Regions, countries, cities, nodes, and the data version counter with its triggers.

The models are declared here as they were at this migration, so later model changes never
rewrite history.
"""
import peewee as pw

VERSIONED_TABLES = ("region", "country", "city", "node")


def migrate(migrator, database, fake=False, **kwargs):
    @migrator.create_model
    class Region(pw.Model):
        id = pw.IntegerField(primary_key=True)
        name = pw.CharField(max_length=100)
        name_key = pw.CharField(max_length=100, index=True)
        continent = pw.CharField(max_length=2, index=True)

        class Meta:
            table_name = "region"

    @migrator.create_model
    class Country(pw.Model):
        code = pw.CharField(max_length=2, primary_key=True)
        name = pw.CharField(max_length=100, index=True)
        name_key = pw.CharField(max_length=100, index=True)
        iso3 = pw.CharField(max_length=3)
        iso_numeric = pw.CharField(max_length=3)
        continent = pw.CharField(max_length=2, index=True)
        region = pw.ForeignKeyField(Region, index=True)

        class Meta:
            table_name = "country"

    @migrator.create_model
    class City(pw.Model):
        id = pw.IntegerField(primary_key=True)
        name = pw.CharField(max_length=200)
        name_key = pw.CharField(max_length=200, index=True)
        country = pw.ForeignKeyField(Country, index=True)
        region = pw.ForeignKeyField(Region, index=True)
        latitude = pw.DoubleField()
        longitude = pw.DoubleField()
        population = pw.BigIntegerField()
        timezone = pw.CharField(max_length=40)

        class Meta:
            table_name = "city"
            indexes = ((("name", "id"), False), (("population", "id"), False))

    @migrator.create_model
    class Node(pw.Model):
        ip = pw.CharField(max_length=45, unique=True)
        asn = pw.BigIntegerField(null=True)
        network = pw.CharField(max_length=255, null=True)
        city = pw.ForeignKeyField(City, index=False)
        country = pw.ForeignKeyField(Country, index=False)
        region = pw.ForeignKeyField(Region, index=False)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "node"
            indexes = (
                (("city", "id"), False),
                (("country", "id"), False),
                (("region", "id"), False),
                (("asn", "id"), False),
            )

    @migrator.create_model
    class DataVersion(pw.Model):
        id = pw.IntegerField(primary_key=True)
        version = pw.BigIntegerField(default=0)

        class Meta:
            table_name = "data_version"

    migrator.sql("INSERT INTO data_version (id, version) VALUES (1, 0)")
    if isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase):
        # One bump per statement: a bulk import moves the counter once, not once per row.
        migrator.sql(
            "CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE data_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$"
        )
        for table in VERSIONED_TABLES:
            migrator.sql(
                f"CREATE TRIGGER {table}_bumps_data_version AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()"
            )
    else:
        # SQLite has only row triggers; they run in the writer's transaction, so cost little.
        for table in VERSIONED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                migrator.sql(
                    f"CREATE TRIGGER {table}_{event.lower()}_bumps_data_version AFTER {event} ON {table} "
                    "BEGIN UPDATE data_version SET version = version + 1 WHERE id = 1; END"
                )


def rollback(migrator, database, fake=False, **kwargs):
    if isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase):
        for table in VERSIONED_TABLES:
            migrator.sql(f"DROP TRIGGER IF EXISTS {table}_bumps_data_version ON {table}")
        migrator.sql("DROP FUNCTION IF EXISTS bump_data_version()")
    for name in ("data_version", "node", "city", "country", "region"):
        migrator.remove_model(name)
