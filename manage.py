#!/usr/bin/env python
"""The PerfOps Core API's command line: `python manage.py --help`."""
import argparse
import logging
import sys

from commands import import_nodes, migrate, seed
from config import Config, ConfigError
from models import connect_database

COMMANDS = {
    "migrate": (migrate, "bring the database schema up to date (idempotent)"),
    "seed": (seed, "load regions, countries and cities (idempotent), optionally demo nodes"),
    "import-nodes": (import_nodes, "add or update nodes from a CSV file, all rows or none"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if hasattr(module, "add_arguments"):
            module.add_arguments(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"manage.py: {error}", file=sys.stderr)
        return 2
    db = connect_database(config)
    try:
        return COMMANDS[args.command][0].run(args)
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
