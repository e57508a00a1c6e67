"""What the throwaway PostgreSQL and MariaDB servers share: ports, logs, environment, stopping.

Both servers are started the same way (a set-up command, then the server on a free port of
127.0.0.1, retried when someone else took the port first) and fail the same way (one line that
ends in the tail of the server's log), so those steps live here once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

START_TIMEOUT = 30.0
"""Seconds a server gets to accept connections before the start counts as failed."""
STOP_TIMEOUT = 30.0
"""Seconds a server gets to shut down cleanly before it is killed."""
HOST = "127.0.0.1"
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; PostgreSQL adds "/.s.PGSQL.NNNNN"
PORT_ATTEMPTS = 3  # a free port can be taken by someone else between probe and bind
_PORT_IN_USE = re.compile(r"address already in use|could not bind|bind on tcp/ip port", re.I)
_ERROR_LINE = re.compile(r"\b(error|fatal|panic)\b", re.I)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 4) -> str:
    """The last error lines of a log (else its last lines), joined into one line."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    all_lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in all_lines if _ERROR_LINE.search(line)]
    return " | ".join((errors or all_lines)[-lines:]) or f"(empty log {path})"


def port_taken(log: Path, offset: int) -> bool:
    """Whether what the server wrote to ``log`` after ``offset`` says its port was taken."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return False
    return bool(_PORT_IN_USE.search(text))


def size_of(path: Path) -> int:
    """How far a log has grown, so a retry reads only what the new start wrote."""
    return path.stat().st_size if path.exists() else 0


def clean_env() -> dict[str, str]:
    """The environment minus the client variables that could point a tool at another server."""
    drop = ("PG", "MYSQL", "MARIADB")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["LC_ALL"] = "C.UTF-8"
    return env


def run_logged(args: Sequence[str | Path], log: Path, what: str, **kwargs: object) -> None:
    """Run a set-up command with its output appended to ``log``; raise if it fails."""
    with log.open("ab") as out:
        try:
            proc = subprocess.run(
                [str(a) for a in args], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=clean_env(), timeout=120, check=False,
                **kwargs,  # type: ignore[call-overload]
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"{what} failed: {exc} (log: {log})") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{what} exited {proc.returncode} (log: {log}): {log_tail(log)}")


def stop_process(proc: subprocess.Popen[bytes], first: signal.Signals) -> None:
    """Send ``first`` (the server's clean-shutdown signal), then SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(first)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def short_dir(preferred: Path, prefix: str) -> Path:
    """``preferred`` if a Unix socket path under it fits, else a new short temp dir."""
    if len(str(preferred)) + 20 <= _SOCKET_PATH_MAX:
        preferred.mkdir(parents=True, exist_ok=True)
        return preferred
    return Path(tempfile.mkdtemp(prefix=prefix))
