#!/usr/bin/env python
"""The PerfOps Core API's command line: `python manage.py --help`."""
import argparse
import contextlib
import logging
import secrets
import sys
from dataclasses import replace

import peewee

from commands import api_keys, import_nodes, migrate, release, seed, users
from config import Config, ConfigError
from models import connect_database
from observability.logs import request_id

# name -> (help, add_arguments(parser) or None, run(args) -> exit status)
COMMANDS = {**migrate.COMMANDS, **release.COMMANDS, **seed.COMMANDS, **import_nodes.COMMANDS, **users.COMMANDS,
            **api_keys.COMMANDS}


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
        return 1
    db = connect_database(config)
    request_id.set(f"manage-{secrets.token_hex(8)}")  # every log line of this run carries it
    try:
        return COMMANDS[args.command][2](args)
    except (peewee.OperationalError, peewee.InterfaceError) as error:
        # Unreachable, refused, no such database, TLS required but absent: one line an operator can act on.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"manage.py {args.command}: cannot use the database: {reason}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(peewee.PeeweeException):
            db.close()


if __name__ == "__main__":
    sys.exit(main())
