"""The shell blocks of the README and docs/ read as a reader would: commands in order, each with what the
document shows under it.

A command is a line (continued by a trailing backslash) outside a comment; the comment lines right under it
(`# {...}`, `# HTTP/1.1 201 Created`, lines of a list) are what it shows. A block beginning `#!` is one script.
`shown_matches` compares what a command printed with what the README shows, apart from values that change
with every run (times, tokens, tags, versions).
"""
import json
import re
from dataclasses import dataclass, field

# JSON members and headers whose values differ from run to run (times, tokens, data versions, which count the
# reference data loaded): only their presence is compared.
VOLATILE_MEMBERS = {"timestamp", "createdAt", "updatedAt", "token", "expiresAt", "version"}
VOLATILE_HEADERS = {"etag", "x-data-version", "date", "x-request-id", "last-modified"}
HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")
ELLIPSIS = ("…", "...")


@dataclass
class Command:
    text: str
    section: str
    line: int
    document: str = "README.md"
    shown: list[str] = field(default_factory=list)
    script: bool = False

    def __str__(self):
        return f"{self.document} line {self.line} ({self.section}): {self.text.splitlines()[0]}"


def shell_blocks(readme: str):
    """(section heading, first line number, lines) of every ```sh block."""
    section, block, start = "", None, 0
    for number, line in enumerate(readme.splitlines(), 1):
        if block is None and line.startswith("#"):
            section = line.lstrip("#").strip()
        elif line.strip() == "```sh":
            block, start = [], number + 1
        elif block is not None and line.strip() == "```":
            yield section, start, block
            block = None
        elif block is not None:
            block.append(line)


def commands(readme: str, document: str = "README.md") -> list[Command]:
    found = []
    for section, start, lines in shell_blocks(readme):
        if lines and lines[0].startswith("#!"):
            found.append(Command("\n".join(lines) + "\n", section, start, document, script=True))
            continue
        current, pending = None, ""
        for offset, line in enumerate(lines):
            stripped = line.strip()
            if not pending and stripped.startswith("#"):
                if current is not None:
                    current.shown.append(stripped[1:].strip())
                continue
            if not stripped:
                current = None
                continue
            if not pending:
                number = start + offset
            pending += line + "\n"
            if not line.endswith("\\"):
                current = Command(pending.rstrip("\n"), section, number, document)
                found.append(current)
                pending = ""
    return found


def inline_comment(command: Command) -> str:
    """What follows `  # ` on the command's last line (`# 304`, `# 204`), or ''."""
    last = command.text.splitlines()[-1]
    match = re.search(r"\s#\s+(.*)$", last.replace("'#", "").replace('"#', ""))
    return match.group(1).strip() if match else ""


def shown_matches(shown: list[str], output: str) -> str | None:
    """Why `output` is not what the README shows, or None when it is."""
    if not shown:
        return None
    first = shown[0]
    if first.startswith(("{", "[")):
        return _json_matches(" ".join(shown), output)
    if first.startswith("HTTP/") or HEADER_LINE.match(first):
        return _headers_match(shown, output)
    return _lines_match(shown, output)


def _json_matches(expected_text: str, output: str) -> str | None:
    try:
        actual = json.loads(output)
    except ValueError:
        return f"not JSON: {output[:300]!r}"
    if any(mark in expected_text for mark in ELLIPSIS):
        # An abridged example: every member it names must be in the output.
        missing = sorted(set(re.findall(r'"(\w+)":', expected_text)) - set(re.findall(r'"(\w+)":', output)))
        return f"members missing: {missing}" if missing else None
    return _same(json.loads(expected_text), actual, "$")


def _same(expected, actual, where: str) -> str | None:
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(expected) != set(actual):
            return f"{where}: the README shows {expected!r}, the service answered {actual!r}"
        for key in expected:
            if key not in VOLATILE_MEMBERS:
                problem = _same(expected[key], actual[key], f"{where}.{key}")
                if problem:
                    return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return f"{where}: the README shows {expected!r}, the service answered {actual!r}"
        for index, (one, other) in enumerate(zip(expected, actual)):
            problem = _same(one, other, f"{where}[{index}]")
            if problem:
                return problem
        return None
    return None if expected == actual else f"{where}: the README shows {expected!r}, the service answered {actual!r}"


def _headers_match(shown: list[str], output: str) -> str | None:
    lines = output.replace("\r\n", "\n").split("\n")
    headers = {}
    for line in lines:
        match = HEADER_LINE.match(line)
        if match:
            headers.setdefault(match.group(1).lower(), match.group(2))
        elif line == "" and headers:
            break  # the body follows
    for expected in shown:
        if expected.startswith("HTTP/"):
            if lines[0].strip() != expected:
                return f"status line {lines[0]!r}, the README shows {expected!r}"
            continue
        name, value = HEADER_LINE.match(expected).groups()
        if name.lower() not in headers:
            return f"no {name} header in {output[:500]!r}"
        if name.lower() not in VOLATILE_HEADERS and headers[name.lower()] != value:
            return f"{name}: {headers[name.lower()]!r}, the README shows {value!r}"
    return None


def _lines_match(shown: list[str], output: str) -> str | None:
    lines = output.splitlines()
    for index, expected in enumerate(shown):
        if expected.startswith(ELLIPSIS):
            count = re.search(r"\((\d+) \w+", expected)
            if count and int(count.group(1)) != len(lines):
                return f"{len(lines)} lines, the README says {count.group(1)}"
            return None
        if index >= len(lines) or lines[index] != expected:
            got = lines[index] if index < len(lines) else None
            return f"line {index + 1} is {got!r}, the README shows {expected!r}"
    return None if len(lines) == len(shown) else f"{len(lines)} lines, the README shows {len(shown)}"
