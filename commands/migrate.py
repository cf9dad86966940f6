"""`manage.py migrate`: bring the schema up to date (idempotent)."""
from pathlib import Path

from peewee_migrate import Router

from models import database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def migrate() -> list[str]:
    return Router(database, migrate_dir=MIGRATIONS).run()


def run(args) -> int:
    applied = migrate()
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")
    return 0


COMMANDS = {"migrate": ("bring the database schema up to date (idempotent)", None, run)}
