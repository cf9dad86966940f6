"""`manage.py release`: what a deploy runs before the new release serves (the Procfile's `release`).

The schema brought up to date, then the reference data loaded (regions, countries, cities: idempotent,
a second of comparing when nothing changed; no demo nodes). Without the reference data every region,
country and city list would be empty, and /health says so.
"""
from commands.migrate import migrate
from commands.seed import seed


def run(args) -> int:
    applied = migrate()
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")
    seed(demo_nodes=0)
    return 0


COMMANDS = {"release": ("migrate, then load the reference data (idempotent): the Procfile's release phase",
                        None, run)}
