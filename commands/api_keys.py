"""API key commands: createkey, keys, revokekey (docs/api.md, "API keys for machines")."""
from datetime import timedelta

from commands.users import NAME_TOKEN, CommandError, find_user, guarded
from models import ApiKey, User, naive_utc_now

LONGEST_VALIDITY_DAYS = 3650


def createkey_arguments(parser) -> None:
    parser.add_argument("name", help="what the key is for, unique: 1 to 50 of A-Z a-z 0-9 _ . : -")
    parser.add_argument("--user", required=True, help="the account the key acts for")
    parser.add_argument("--permission", action="append", default=[], metavar="P",
                        help="a permission of the account's the key carries; repeat for several (none: reads only)")
    parser.add_argument("--expires-in-days", type=int, metavar="DAYS",
                        help=f"the key stops working after DAYS days (1 to {LONGEST_VALIDITY_DAYS}); default: never")


def createkey(args):
    if not NAME_TOKEN.fullmatch(args.name):
        raise CommandError(f"{args.name!r}: a key's name is 1 to 50 of A-Z a-z 0-9 _ . : -")
    if ApiKey.get_or_none(ApiKey.name == args.name):
        raise CommandError(f"a key named {args.name!r} exists already")
    user = find_user(args.user)
    if not user.active:
        raise CommandError(f"{user.username} is disabled")
    lacking = sorted(set(args.permission) - set(user.permissions))
    if lacking:
        raise CommandError(f"{user.username} does not hold {', '.join(lacking)}: a key carries at most its "
                           "account's permissions")
    expires_at = None
    if args.expires_in_days is not None:
        if not 1 <= args.expires_in_days <= LONGEST_VALIDITY_DAYS:
            raise CommandError(f"--expires-in-days is 1 to {LONGEST_VALIDITY_DAYS}")
        expires_at = naive_utc_now() + timedelta(days=args.expires_in_days)
    row, key = ApiKey.make(args.name, user, args.permission, expires_at)
    ends = f"expires {row.expires_at:%Y-%m-%d %H:%M:%S} UTC" if expires_at else "does not expire"
    return [f"created API key {row.name} for {user.username} (permissions: {describe(row.permissions)}; {ends})",
            "The key is shown this once; store it as a secret:",
            key]


def describe(permissions) -> str:
    return ",".join(permissions) or "none"


def keys(args):
    now = naive_utc_now()
    lines = [f"{'name':<30} {'user':<20} {'permissions':<20} {'created':<19}  {'expires':<19}  "
             f"{'last used':<19}  state"]
    for row in ApiKey.select(ApiKey, User.username).join(User).order_by(ApiKey.name).objects():
        state = "revoked" if row.revoked_at else "expired" if row.standing(now) else "active"
        lines.append(f"{row.name:<30} {row.username:<20} {describe(row.permissions):<20} {when(row.created_at)}  "
                     f"{when(row.expires_at)}  {when(row.last_used_at)}  {state}")
    return lines


def when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else f"{'-':<19}"


def revokekey_arguments(parser) -> None:
    parser.add_argument("name")


def revokekey(args):
    row = ApiKey.get_or_none(ApiKey.name == args.name)
    if row is None:
        raise CommandError(f"no API key {args.name!r}")
    if row.revoked_at is None:
        ApiKey.update(revoked_at=naive_utc_now()).where(ApiKey.id == row.id).execute()
    return [f"API key {row.name} is revoked: writes refuse its tokens at once, reads within DATA_FRESHNESS"]


COMMANDS = {
    "createkey": ("create an API key for a machine (shown once)", createkey_arguments, guarded(createkey)),
    "keys": ("list the API keys (never the keys themselves)", None, guarded(keys)),
    "revokekey": ("revoke an API key and the tokens exchanged for it", revokekey_arguments, guarded(revokekey)),
}
