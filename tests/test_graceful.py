"""Graceful operation under gunicorn: a reload (HUP) drops no request; a stop (TERM) finishes the one in flight."""
import os
import signal
import socket
import time

import pytest

from tests.live_server import get, gunicorn_master, procfile_env, serve

pytestmark = pytest.mark.slow
REQUESTS = 300
RELOAD_AT = 100


def test_reload_then_stop_drop_nothing(config, nodes):
    with serve(procfile_env(config.database_url, workers=2)) as (base, server):
        master = gunicorn_master(server.pid)
        failures = []
        for index in range(REQUESTS):
            if index == RELOAD_AT:
                os.kill(master, signal.SIGHUP)  # new workers start, the old ones finish and leave
            path = "/nodes.txt" if index % 2 else "/ping"
            try:
                status, _, _ = get(f"http://127.0.0.1:{base.rsplit(':', 1)[1]}{path}")
                if status != 200:
                    failures.append((index, status))
            except OSError as error:
                failures.append((index, repr(error)))
        assert failures == []

        # A request in flight when TERM arrives is finished before its worker exits.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(b"GET /nodes.txt HTTP/1.1\r\nHost: test\r\n")  # not finished yet
            time.sleep(0.5)  # a worker has accepted it and waits for the rest
            os.kill(master, signal.SIGTERM)
            time.sleep(0.5)
            connection.sendall(b"\r\n")
            response = b""
            while chunk := connection.recv(65536):
                response += chunk
        assert response.startswith(b"HTTP/1.1 200 OK"), response[:200]
        assert response.endswith("".join(f"{node.ip}\n" for node in nodes).encode())
        server.wait(timeout=30)
    assert server.returncode == 0
    assert "Handling signal: hup" in server.output and "Handling signal: term" in server.output
