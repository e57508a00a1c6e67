"""`turnout serve` as a user runs it: refusals are one line, and the server runs its tasks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_db
from tests.web.conftest import SHOP


def turnout(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TURNOUT_HOME=str(home), COLUMNS="200")
    env.pop("TURNOUT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_open_bind_needs_a_token(home: Path) -> None:
    result = turnout(home, "serve", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --host 0.0.0.0 lets other machines in: give a --token (or set TURNOUT_TOKEN), "
        "which API clients send as a bearer header")


def test_taken_port_is_one_line(home: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = turnout(home, "serve", "--port", str(port))
    assert result.returncode == 1
    assert re.fullmatch(rf"error: cannot listen on 127\.0\.0\.1:{port}: .+ \(pick another "
                        r"--port or --host\)", result.stderr.strip()), result.stderr


def call(base: str, method: str, path: str) -> dict:
    request = urllib.request.Request(base + path, method=method, data=b"" if method == "POST"
                                     else None)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture()
def server(home: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    env = dict(os.environ, TURNOUT_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "turnout", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, line + proc.stderr.read() if proc.stderr else line
    yield proc, f"http://127.0.0.1:{match.group(1)}"
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def test_cli_stop_of_a_served_task_leaves_the_server(
        server: tuple[subprocess.Popen, str], home: Path, tmp_path: Path) -> None:
    proc, base = server
    src = make_db(tmp_path / "shop.db", SHOP)
    created = turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}",
                      "--dest", f"sqlite:///{tmp_path / 'new.db'}")
    assert created.returncode == 0, created.stderr
    assert call(base, "POST", "/api/tasks/shop/start")["pid"] == proc.pid
    stopped = turnout(home, "task", "stop", "shop")  # SIGTERMs the task's pid: the server's
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout, stopped.stderr
    time.sleep(0.3)
    assert proc.poll() is None and call(base, "GET", "/api/tasks/shop")["state"] == "Stopped"
    call(base, "POST", "/api/tasks/shop/start")
    proc.send_signal(signal.SIGTERM)  # this one is for the server: its task stops with it
    proc.wait(30)
    assert json.loads(turnout(home, "task", "status", "shop", "--json").stdout)["state"] == \
        "Stopped"
