"""The account commands, run as an operator runs them."""
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from models import User
from security.passwords import verify_password
from tests.data import PASSWORD, make_user
from tests.helpers import manage

ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "a different long password"


def createuser(config, *extra, password=PASSWORD):
    return manage(config, "createuser", "carol", "--name", "Carol Example", "--email", "carol@example.com",
                  "--role", "admin", *extra, "--password-stdin", stdin=password + "\n")


def test_createuser_from_stdin(config, db):
    result = createuser(config, "--permission", "nodes:write", "--permission", "billing")
    assert result.returncode == 0, result.stderr
    user = User.by_username("CAROL")
    assert (user.name, user.email, user.role, user.permissions) == (
        "Carol Example", "carol@example.com", "admin", ["billing", "nodes:write"])
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(user.password_hash, PASSWORD) and user.totp_secret is None and user.active


def test_createuser_with_otp_prints_the_uri_and_a_qr_code(config, db):
    result = createuser(config, "--otp")
    assert result.returncode == 0, result.stderr
    user = User.by_username("carol")
    assert f"otpauth://totp/PerfOps:carol?secret={user.totp_secret}&issuer=PerfOps" in result.stdout
    assert result.stdout.count("█") > 200  # the QR code, drawn with block characters


def test_createuser_refuses_duplicates_and_bad_input(config, db):
    make_user("Carol")
    assert "exists already" in createuser(config).stderr
    assert createuser(config, password="short").returncode == 1
    bad_email = manage(config, "createuser", "dave", "--name", "D", "--email", "nope", "--role", "trial",
                       "--password-stdin", stdin=PASSWORD + "\n")
    assert bad_email.returncode == 1 and "not an email address" in bad_email.stderr
    assert User.select().count() == 1


def test_createuser_prompts_for_the_password_twice(config, db):
    """A real terminal: getpass reads from the controlling tty, not from stdin."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: manage.py on the pseudo-terminal
        os.chdir(ROOT)
        os.environ["DATABASE_URL"] = config.database_url
        os.execv(sys.executable, [sys.executable, "manage.py", "createuser", "erin", "--name", "Erin",
                                  "--email", "erin@example.com", "--role", "trial"])
    output = b""
    for answer in (PASSWORD, PASSWORD):
        output += read_until(terminal, b": ")
        os.write(terminal, answer.encode() + b"\n")
    output += read_until(terminal, b"role trial)")
    os.waitpid(pid, 0)
    assert b"Password: " in output and b"Password (again): " in output
    assert PASSWORD.encode() not in output  # not echoed
    assert verify_password(User.by_username("erin").password_hash, PASSWORD)


def read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    data = b""
    while marker not in data:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"no {marker!r} in {data!r}"
        data += os.read(fd, 1024)
    return data


def test_setpassword_revokes_tokens(config, db):
    user = make_user("carol")
    result = manage(config, "setpassword", "carol", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    updated = User.get_by_id(user.id)
    assert verify_password(updated.password_hash, NEW_PASSWORD)
    assert updated.token_version == user.token_version + 1


def test_disable_enable_and_otp(config, db):
    user = make_user("carol")
    assert manage(config, "disable", "CAROL").returncode == 0
    disabled = User.get_by_id(user.id)
    assert not disabled.active and disabled.token_version == 1
    assert manage(config, "enable", "carol").returncode == 0 and User.get_by_id(user.id).active
    on = manage(config, "otp", "carol", "on")
    secret = User.get_by_id(user.id).totp_secret
    assert secret and f"secret={secret}" in on.stdout
    assert manage(config, "otp", "carol", "off").returncode == 0
    assert User.get_by_id(user.id).totp_secret is None


def test_users_lists_accounts_and_unknown_names_fail(config, db):
    make_user("carol", role="admin", permissions=["billing"])
    make_user("dave", active=False)
    listing = manage(config, "users").stdout.splitlines()
    assert listing[1].split() == [listing[1].split()[0], "carol", "admin", "off", "yes", "billing"]
    assert listing[2].split()[1:5] == ["dave", "trial", "off", "no"]
    missing = manage(config, "disable", "nobody")
    assert missing.returncode == 1 and "no user 'nobody'" in missing.stderr


def test_createuser_without_a_terminal_names_password_stdin(config, db):
    """No controlling terminal (a container job, CI): a one-line error naming the option, not a traceback."""
    result = subprocess.run([sys.executable, "manage.py", "createuser", "frank", "--name", "Frank", "--email",
                             "frank@example.com", "--role", "trial"], cwd=ROOT, input="",
                            env={**os.environ, "DATABASE_URL": config.database_url}, capture_output=True, text=True,
                            timeout=120, start_new_session=True)  # a new session has no controlling terminal
    assert result.returncode == 1
    assert "--password-stdin" in result.stderr and "Traceback" not in result.stderr
    assert User.by_username("frank") is None
