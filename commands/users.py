"""Account commands: createuser, setpassword, enable, disable, otp, users (contract §8)."""
import getpass
import re
import sys

import segno

from models import User, fold, naive_utc_now, write_transaction
from security import totp
from security.passwords import hash_password, password_problem

NAME_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,50}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class CommandError(Exception):
    pass


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("the passwords do not match")
        except EOFError:
            raise CommandError("no password was typed: without a terminal, give it on standard input with "
                               "--password-stdin") from None
    problem = password_problem(password)
    if problem:
        raise CommandError(problem)
    return password


def find_user(username: str) -> User:
    user = User.by_username(username)
    if user is None:
        raise CommandError(f"no user {username!r}")
    return user


def otp_enrolment(user: User):
    """What the user needs to enrol an authenticator app: shown once the secret is committed."""
    uri = totp.provisioning_uri(user.totp_secret, user.username)

    def show() -> None:
        print(f"Two-factor authentication is on for {user.username}. Scan this with an authenticator app,")
        print(f"or enter the URI by hand:\n{uri}")
        segno.make(uri, error="m").terminal(compact=True)
    return show


def update(user: User, **fields) -> None:
    User.update(updated_at=naive_utc_now(), **fields).where(User.id == user.id).execute()


# --- createuser ------------------------------------------------------------------------------

def createuser_arguments(parser) -> None:
    parser.add_argument("username")
    parser.add_argument("--name", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--role", required=True, help="trial, admin, ...")
    parser.add_argument("--permission", action="append", default=[], metavar="P",
                        help="a custom permission; repeat for several")
    parser.add_argument("--otp", action="store_true", help="turn on TOTP two-factor authentication")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def createuser(args) -> None:
    username = args.username.strip()
    if not username or len(username) > 150 or any(ch.isspace() or ord(ch) < 32 for ch in username):
        raise CommandError("a username is 1 to 150 characters without spaces")
    if not EMAIL.fullmatch(args.email):
        raise CommandError(f"{args.email!r} is not an email address")
    for value in [args.role, *args.permission]:
        if not NAME_TOKEN.fullmatch(value):
            raise CommandError(f"{value!r}: roles and permissions are 1 to 50 of A-Z a-z 0-9 _ . : -")
    if not args.name.strip():
        raise CommandError("--name must not be empty")
    if User.by_username(username):
        raise CommandError(f"a user {username!r} exists already (usernames ignore case)")
    password = read_password(args.password_stdin)
    user = User(username=username, username_key=fold(username), name=args.name.strip(), email=args.email,
                role=args.role, password_hash=hash_password(password),
                totp_secret=totp.new_secret() if args.otp else None)
    user.permissions = args.permission
    user.save()
    return [f"created user {user.username} (id {user.id}, role {user.role})",
            *([otp_enrolment(user)] if user.totp_secret else [])]


# --- operating on an account -----------------------------------------------------------------

def username_argument(parser) -> None:
    parser.add_argument("username")


def setpassword_arguments(parser) -> None:
    username_argument(parser)
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def setpassword(args) -> None:
    user = find_user(args.username)
    password = read_password(args.password_stdin)
    update(user, password_hash=hash_password(password), token_version=User.token_version + 1)
    return [f"password set for {user.username}; tokens issued before are revoked"]


def enable(args) -> None:
    update(find_user(args.username), active=True)
    return [f"{args.username} can log in"]


def disable(args) -> None:
    update(find_user(args.username), active=False, token_version=User.token_version + 1)
    return [f"{args.username} is disabled; tokens issued before are revoked"]


def otp_arguments(parser) -> None:
    username_argument(parser)
    parser.add_argument("state", choices=["on", "off"], help="'on' makes a new secret (re-enrolment); 'off' removes it")


def otp(args):
    """Either way the user's tokens are revoked: they were issued under the other rule."""
    user = find_user(args.username)
    revoked = User.token_version + 1
    if args.state == "on":
        user.totp_secret = totp.new_secret()
        update(user, totp_secret=user.totp_secret, totp_last_step=None, token_version=revoked)
        return [otp_enrolment(user)]
    update(user, totp_secret=None, totp_last_step=None, token_version=revoked)
    return [f"two-factor authentication is off for {user.username}; tokens issued before are revoked"]


def users(args):
    lines = [f"{'id':>5}  {'username':<30} {'role':<10} {'2fa':<4} {'active':<7} permissions"]
    for user in User.select().order_by(User.username_key):
        lines.append(f"{user.id:>5}  {user.username:<30} {user.role:<10} {'on' if user.totp_secret else 'off':<4} "
                     f"{'yes' if user.active else 'no':<7} {','.join(user.permissions)}")
    return lines


def guarded(command):
    """Runs `command` in one transaction and shows what it returns (lines, or callables that print) only
    after the commit: a reader that goes away (`| head`) cannot undo a change it was told about."""
    def run(args) -> int:
        try:
            with write_transaction():
                output = command(args)
        except CommandError as error:
            print(f"manage.py {args.command}: {error}", file=sys.stderr)
            return 1
        for item in output:
            if callable(item):
                item()
            else:
                print(item)
        return 0
    return run


COMMANDS = {
    "createuser": ("create a user (prompts for the password unless --password-stdin)", createuser_arguments,
                   guarded(createuser)),
    "setpassword": ("set a user's password; revokes the user's tokens", setpassword_arguments, guarded(setpassword)),
    "enable": ("let a disabled user log in again", username_argument, guarded(enable)),
    "disable": ("stop a user logging in and revoke the user's tokens", username_argument, guarded(disable)),
    "otp": ("turn a user's TOTP two-factor authentication on (new secret) or off", otp_arguments, guarded(otp)),
    "users": ("list the users", None, guarded(users)),
}
