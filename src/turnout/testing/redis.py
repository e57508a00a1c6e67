"""A throwaway redis-server (or valkey-server), started from the installed binary.

No config file: every setting is on the command line, persistence is off (no RDB
snapshots, no AOF), the replication backlog is small unless asked otherwise, and
diskless full syncs start at once, so a test that asks for one does not wait.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from turnout.testing.processes import (
    HOST,
    PORT_ATTEMPTS,
    START_TIMEOUT,
    clean_env,
    free_port,
    log_tail,
    port_taken,
    size_of,
    stop_process,
)


@dataclass
class RedisServer:
    """A running throwaway Redis; :meth:`stop` shuts it down (its log stays in base_dir)."""

    base_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    host: str = HOST
    _stopped: bool = field(default=False, repr=False)

    @property
    def log(self) -> Path:
        return self.base_dir / "redis.log"

    def url(self, db: int | None = None) -> str:
        """A redis:// URL for database `db` (None: every database)."""
        return f"redis://{self.host}:{self.port}" + ("" if db is None else f"/{db}")

    def stop(self) -> None:
        """SIGTERM (a clean shutdown). Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        stop_process(self.process, signal.SIGTERM)


def _binary() -> str:
    for name in ("redis-server", "valkey-server"):
        if found := shutil.which(name):
            return found
    raise RuntimeError("redis-server not found: apt-get install redis-server")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(base_dir: Path, extra_args: Sequence[str] = (),
                backlog: str = "1mb") -> RedisServer:
    """Start a private Redis on a free port of 127.0.0.1 with `backlog` of replication
    backlog; `extra_args` are more `--name value` settings. Returns once it answers PING."""
    base_dir.mkdir(parents=True, exist_ok=True)
    binary = _binary()
    log = base_dir / "redis.log"
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port, offset = free_port(), size_of(log)
        args = [binary, "--port", str(port), "--bind", HOST, "--dir", str(base_dir),
                "--save", "", "--appendonly", "no", "--logfile", str(log),
                "--repl-backlog-size", backlog, "--repl-diskless-sync-delay", "0",
                "--daemonize", "no", *extra_args]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=base_dir, env=clean_env())
        server = RedisServer(base_dir, port, process)
        atexit.register(server.stop)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                return server
            time.sleep(0.05)
        stop_process(process, signal.SIGTERM)
        atexit.unregister(server.stop)
        if attempt == PORT_ATTEMPTS or not port_taken(log, offset):
            raise RuntimeError(f"redis-server did not start on port {port} (log: {log}): "
                               f"{log_tail(log)}")
    raise AssertionError("unreachable")
