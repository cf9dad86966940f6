"""Log lines on stdout (observability/logs.py): written at once, or, while a busy server holds access lines, together
and in the order written."""
import json
import logging

import pytest

from observability.logs import LOGGING, AccessLog, StdoutHandler, stdout_lines


@pytest.fixture
def held(monkeypatch):
    """Access lines held for up to 0.1 s, as the gunicorn worker holds them."""
    stdout_lines.flush()
    monkeypatch.setattr(stdout_lines, "hold_seconds", 0.1)
    yield stdout_lines
    stdout_lines.flush()


def access(path: str) -> None:
    AccessLog().write("req-" + path.strip("/"), "GET", path, 200, 0.001, None, "192.0.2.1")


def written(capsys) -> list:
    return [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines()]


def test_an_access_line_is_written_at_once_unless_a_server_holds_them(capsys):
    access("/a")
    assert written(capsys) == ["GET /a 200"]


def test_held_lines_are_written_together_when_the_server_flushes(held, capsys):
    access("/a")
    access("/b")
    assert written(capsys) == []
    held.flush()
    assert written(capsys) == ["GET /a 200", "GET /b 200"]
    held.flush()
    assert written(capsys) == []


def test_a_log_record_writes_the_held_lines_before_itself(held, capsys):
    handler = StdoutHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.held")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        access("/a")
        logger.warning('{"message": "a record"}')
    finally:
        logger.removeHandler(handler)
    assert written(capsys) == ["GET /a 200", "a record"]


def line(message: str) -> str:
    return json.dumps({"message": message}) + "\n"


def test_held_lines_wait_at_most_the_hold_and_a_bounded_size(held, capsys, monkeypatch):
    held.write_access(line("first"), now=1000.0)
    held.write_access(line("within the hold"), now=1000.09)
    assert written(capsys) == []
    held.write_access(line("past it"), now=1000.1)  # the first is 0.1 s old: all go
    assert written(capsys) == ["first", "within the hold", "past it"]
    held.write_access(line("before a clock step back"), now=1000.2)
    held.write_access(line("after it"), now=999.0)
    assert written(capsys) == ["before a clock step back", "after it"]

    monkeypatch.setattr(type(held), "HELD_BYTES", 100)
    for index in range(9):
        held.write_access(line(f"line {index:03d}"), now=2000.0)  # 24 characters each: every fifth goes
    assert written(capsys) == [f"line {index:03d}" for index in range(5)]
    held.flush()
    assert written(capsys) == [f"line {index:03d}" for index in range(5, 9)]


def test_logging_goes_through_the_same_output():
    assert LOGGING["handlers"]["stdout"]["class"] == "observability.logs.StdoutHandler"
