#!/usr/bin/env python
"""The PerfOps Core API's command line: `python manage.py --help`."""
import argparse
import logging
import sys
from dataclasses import replace

from commands import import_nodes, migrate, seed, users
from config import Config, ConfigError
from models import connect_database

# name -> (help, add_arguments(parser) or None, run(args) -> exit status)
COMMANDS = {**migrate.COMMANDS, **seed.COMMANDS, **import_nodes.COMMANDS, **users.COMMANDS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if add_arguments:
            add_arguments(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # Commands may run long (a large import): no statement timeout for them.
        config = replace(Config.from_env(), db_statement_timeout=0)
    except ConfigError as error:
        print(f"manage.py: {error}", file=sys.stderr)
        return 2
    db = connect_database(config)
    try:
        return COMMANDS[args.command][2](args)
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
