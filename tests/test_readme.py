"""Every command and request the README and docs/ show, run as written on what `make run` serves.

A copy of this checkout (sharing its .venv) runs `make run` on a free port, as a newcomer would: it migrates,
loads the reference data and the 1,000 demo nodes and serves (with `DATABASE_URL` set to a throwaway database
on the PostgreSQL run). The shell blocks of DOCUMENTS are then run in order with `sh`, `localhost:8000` pointed at
that port and the placeholders a reader fills in (`<the password you chose>`, `<the ETag you got>`, ...) filled
in the same way; `createuser` is answered on a terminal (a pseudo-terminal), as its prompts need. What the
README shows under a command must be what it prints (tests/readme_commands.py), every command must exit 0 and
every request it makes must succeed (the server's access log says), or be the status its comment names.
The nginx sidecar script runs against a real nginx, whose reload must then enforce the list it wrote.

Commands that cannot run here are named below with the reason; any other command is run.
"""
import contextlib
import fcntl
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import termios
import time
import urllib.request
from pathlib import Path

import pytest

from tests.data import PASSWORD, throwaway_postgres
from tests.live_server import NGINX, ROOT, free_port, status_of
from tests.readme_commands import Command, commands, inline_comment, shown_matches

pytestmark = [pytest.mark.slow]

# What a reader follows, in this order: the README, then docs/ (the first user and token are made in api.md).
DOCUMENTS = ("README.md", "docs/operations.md", "docs/api.md", "docs/performance.md", "docs/testing.md")
# Commands a test cannot run, and why (matched at the start of the command).
NOT_RUN = {
    "make run": "this test's server is `make run` itself",
    "make test": "the suite this test is part of",
    "TEST_DATABASE_URL=": "the suite this test is part of",
    "make bench": "the benchmark (bench/, about 35 minutes): its numbers are measured, not tested",
    "heroku ": "a Heroku account; the Procfile's processes run in tests/test_gunicorn.py",
    "git push heroku": "a Heroku account",
    "curl -s https://perfops-core.herokuapp.com": "a Heroku app",
    "python3 deploy/follow-nodes.py": "it follows the feed until stopped: tests/test_follow_nodes.py runs it",
}
# Lines of the command reference (`python manage.py release  # ...`): each subcommand and option must exist.
SYNOPSIS = "python manage.py "
VARIABLE = re.compile(r"^([A-Z_][A-Z0-9_]*)=")
PLACEHOLDER = re.compile(r"<((?:the|its) [^<>]+)>")


@pytest.fixture(scope="module")
def demo(database_url, tmp_path_factory):
    """`make run` in a copy of the checkout; yields (the copy, its port, the server's log file, the environment
    the reader has: DATABASE_URL set on the PostgreSQL run, as it must be for manage.py to find the data)."""
    folder = tmp_path_factory.mktemp("readme")
    copy = folder / "checkout"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", ".pytest_cache", "__pycache__", "*.png"))
    if (ROOT / ".venv").exists():
        (copy / ".venv").symlink_to(ROOT / ".venv")  # installed already: make finds its stamps up to date
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "JWT_SECRET", "PORT")}
    with contextlib.ExitStack() as stack:
        if database_url.startswith("postgres"):
            env["DATABASE_URL"] = stack.enter_context(contextlib.contextmanager(throwaway_postgres)(
                os.environ["TEST_DATABASE_URL"]))
        port = free_port()
        log = folder / "make-run.log"
        with open(log, "wb") as output:
            server = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=copy, env=env, stdout=output,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 600
            while status_of(f"http://127.0.0.1:{port}/health") != 200:
                assert server.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "make run did not serve within 10 minutes"
                time.sleep(0.5)
            yield copy, port, log, env
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)


# The test's own requests (filling in a placeholder) name themselves, so the access log can tell them apart.
OWN_REQUEST_ID = "readme-test-placeholder"


def etag_of(url: str, token: str | None) -> str:
    headers = {"X-Request-ID": OWN_REQUEST_ID, **({"Authorization": f"Bearer {token}"} if token else {})}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.headers["ETag"]


class Reader:
    """Runs the README's commands one after another in the copy, keeping the shell variables they set."""

    def __init__(self, copy: Path, port: int, log: Path, env: dict, scratch: Path):
        self.copy, self.port, self.log, self.env, self.scratch = copy, port, log, env, scratch
        self.base = f"http://localhost:{port}"
        self.variables: dict[str, str] = {}
        self.last_output = ""
        self.log_offset = log.stat().st_size

    def run(self, command: Command) -> None:
        text = self.filled_in(command)
        if command.script:
            output = self.sidecar(text, command)
        elif ".venv/bin/python manage.py createuser" in text and "--password-stdin" not in text:
            output = self.on_terminal(text, command)
        else:
            output = self.shell(text, command)
        problem = shown_matches(command.shown, output)
        assert problem is None, f"{command}: {problem}"
        self.check_requests(command, text)
        self.last_output = output

    def filled_in(self, command: Command) -> str:
        text = command.text.replace("localhost:8000", f"localhost:{self.port}")
        for placeholder in set(PLACEHOLDER.findall(text)):
            text = text.replace(f"<{placeholder}>", self.fill(placeholder, text, command))
        return text

    def fill(self, placeholder: str, text: str, command: Command) -> str:
        if placeholder == "the password you chose":
            return PASSWORD
        if placeholder == "the ETag the POST returned":
            return re.search(r'(?im)^etag: "([^"]+)"', self.last_output).group(1)
        path = re.search(rf"localhost:{self.port}(/[^\s'\"]*)", text).group(1)
        if placeholder == "the ETag you got":  # from the same request made before
            return etag_of(self.base + path, None).strip('"')
        if placeholder == "its ETag now":
            return etag_of(self.base + path, self.variables.get("TOKEN")).strip('"')
        raise AssertionError(f"{command}: the test does not know how to fill in <{placeholder}>")

    def shell(self, text: str, command: Command) -> str:
        prelude = "".join(f"{name}={shlex.quote(value)}\n" for name, value in self.variables.items())
        assigned = VARIABLE.match(text)
        script = prelude + text + (f'\nprintf %s "${assigned.group(1)}"' if assigned else "")
        result = subprocess.run(["sh", "-c", script], cwd=self.copy, env=self.env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{command}: exit {result.returncode}: {result.stderr[-2000:]}"
        if assigned:
            assert result.stdout, f"{command}: {assigned.group(1)} is empty"
            self.variables[assigned.group(1)] = result.stdout
        return result.stdout

    def on_terminal(self, text: str, command: Command) -> str:
        """The command on a terminal of its own, typing the password at each prompt."""
        master, slave = os.openpty()

        def controlling_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        process = subprocess.Popen(["sh", "-c", text], cwd=self.copy, env=self.env, stdin=slave, stdout=slave,
                                   stderr=slave, preexec_fn=controlling_terminal)
        os.close(slave)
        seen, answered = b"", 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end closed: the command has ended
                break
            if not chunk:
                break
            seen += chunk
            if seen.count(b"Password") > answered:
                answered += 1
                os.write(master, PASSWORD.encode() + b"\n")
        os.close(master)
        assert process.wait(timeout=60) == 0, f"{command}: {seen.decode(errors='replace')[-2000:]}"
        assert answered == 2, f"{command}: asked for the password {answered} times"
        return seen.decode(errors="replace")

    def sidecar(self, script: str, command: Command) -> str:
        """The README's nginx allow-list script, run twice against a real nginx (a 200 that reloads it, then a
        304 that leaves everything alone), as cron would with the README's variables."""
        if NGINX is None:
            return ""  # reported by the test as not run
        folder = self.scratch / "sidecar"
        (folder / "www").mkdir(parents=True)
        (folder / "www" / "index.html").write_text("allowed\n")
        allow = folder / "perfops-allow.conf"
        allow.write_text("allow 127.0.0.1;\n")  # before the first run: this test may look
        listen = free_port()
        conf = folder / "nginx.conf"
        conf.write_text(f"""pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{listen};
        location / {{ root {folder}/www; include {allow}; deny all; }}
    }}
}}
""")
        # `nginx` on the script's PATH is the real one, with this configuration as a system's is compiled in.
        tools = folder / "bin"
        tools.mkdir()
        (tools / "nginx").write_text(f"#!/bin/sh\nexec {NGINX} -c {conf} \"$@\"\n")
        (tools / "nginx").chmod(0o755)
        subprocess.run([str(tools / "nginx")], check=True, capture_output=True)
        protected = f"http://127.0.0.1:{listen}/"
        env = {**self.env, "PATH": f"{tools}:{os.environ['PATH']}", "API": self.base, "OUT": str(allow),
               "STATE": str(folder / "state")}
        try:
            assert status_of(protected) == 200
            first = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
            assert first.returncode == 0, f"{command}: exit {first.returncode}: {first.stderr}"
            written = allow.read_text()
            assert written.startswith("allow 192.0.2.") and "127.0.0.1" not in written, written[:200]
            assert allow.stat().st_mode & 0o777 == 0o644
            time.sleep(0.5)  # nginx's new workers take over after the reload
            assert status_of(protected) == 403  # the reloaded nginx enforces the list: 127.0.0.1 is not on it
            mtime = allow.stat().st_mtime_ns
            second = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
            assert second.returncode == 0, f"{command}: exit {second.returncode}: {second.stderr}"
            assert allow.stat().st_mtime_ns == mtime  # a 304: nothing rewritten
            assert sorted(path.name for path in folder.iterdir() if path.name.startswith(allow.name)) == [allow.name]
            return first.stdout + second.stdout
        finally:
            subprocess.run([str(tools / "nginx"), "-s", "stop"], capture_output=True)

    def check_requests(self, command: Command, text: str) -> None:
        """The service's access lines for what the command asked: each a success, or the status it names."""
        if f"localhost:{self.port}" not in text and "$API" not in text:
            return
        deadline = time.monotonic() + 5
        while True:  # a worker writes its access line as the response goes
            statuses = [line["status"] for line in self.new_access_lines()]
            if statuses or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert statuses, f"{command}: no request reached the service"
        named = inline_comment(command)
        if re.fullmatch(r"\d{3}", named):
            assert statuses == [int(named)], f"{command}: {statuses}"
        else:
            assert all(200 <= status < 400 for status in statuses), f"{command}: {statuses}"

    def new_access_lines(self) -> list[dict]:
        with open(self.log, "rb") as log:
            log.seek(self.log_offset)
            data = log.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.log_offset += len(complete)
        lines = []
        for line in complete.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("logger") == "perfops.access" and entry.get("request_id") != OWN_REQUEST_ID:
                    lines.append(entry)
        return lines


def test_every_readme_command_runs_as_written_on_make_runs_demo(demo, tmp_path, capsys):
    copy, port, log, env = demo
    reader = Reader(copy, port, log, env, tmp_path)
    run, not_run = 0, []
    for command in (found for document in DOCUMENTS for found in commands((copy / document).read_text(), document)):
        reason = next((why for start, why in NOT_RUN.items() if command.text.lstrip().startswith(start)), None)
        if reason:
            not_run.append(f"{command}: {reason}")
        elif command.text.lstrip().startswith(SYNOPSIS):
            check_synopsis(copy, env, command)
            run += 1
        elif command.script and NGINX is None:
            not_run.append(f"{command}: nginx is not installed (Debian package nginx)")
        else:
            reader.run(command)
            run += 1
    with capsys.disabled():
        print(f"\nREADME and docs/: {run} commands run as written; not run:\n  " + "\n  ".join(not_run))
    assert run >= 30


def check_synopsis(copy: Path, env: dict, command: Command) -> None:
    """A line of the command reference: its subcommand exists and takes every option the line names."""
    words = command.text.split("#")[0].split()
    subcommand = words[2]
    result = subprocess.run([str(copy / ".venv" / "bin" / "python"), "manage.py", subcommand, "--help"], cwd=copy,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{command}: {result.stderr[-1000:]}"
    for option in (word.strip("[]") for word in words[3:] if word.strip("[").startswith("--")):
        assert option in result.stdout, f"{command}: `{subcommand} --help` does not mention {option}"
