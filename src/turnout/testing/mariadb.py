"""A throwaway MariaDB server with a ROW binlog, started from installed binaries.

Grants stay on, and ``root`` logs in over TCP from 127.0.0.1 without a password. Each server
has its own data, binlog and temp directories under the ``base_dir`` it was given.
"""

from __future__ import annotations

import atexit
import os
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
    STOP_TIMEOUT,
    clean_env,
    free_port,
    log_tail,
    port_taken,
    run_logged,
    short_dir,
    size_of,
    stop_process,
)


def _which(*names: str) -> Path | None:
    """The first of ``names`` found on PATH or in the sbin directories root's PATH may lack."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    for name in names:
        if found := shutil.which(name, path=search):
            return Path(found)
    return None


_BOOTSTRAP_SQL = (
    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; "
    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
)
"""Run as root@localhost over the Unix socket once the server is up (mariadb-install-db runs
its ``--extra-file`` with grant tables off, where CREATE USER fails): root may then log in over
TCP from 127.0.0.1 without a password. ``--auth-root-authentication-method=normal`` already
creates that user on 10.11; this makes sure of it. The server runs with
``--skip-name-resolve``, so a TCP client is matched as host ``127.0.0.1`` (never
``localhost``): tests that create users should use ``'%'`` or that host."""


@dataclass
class MariaDbServer:
    """A running throwaway MariaDB server; :meth:`stop` shuts it down and deletes its data."""

    mariadbd: Path
    client: Path
    base_dir: Path
    """Holds ``data/``, ``binlogs/`` and the logs (``install.log``, ``mariadbd.err``)."""
    socket: Path
    port: int
    process: subprocess.Popen[bytes]
    host: str = HOST
    args: list[str] = field(default_factory=list, repr=False)
    """The ``mariadbd`` command line, so that :meth:`restart` starts the same server again."""
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def binlog_dir(self) -> Path:
        return self.base_dir / "binlogs"

    @property
    def log(self) -> Path:
        return self.base_dir / "mariadbd.err"

    def url(self, db: str = "", user: str = "root") -> str:
        """A ``mysql://`` URL for ``db`` (none when empty) as ``user``, without password."""
        return f"mysql://{user}@{self.host}:{self.port}/{db}"

    def sql(self, sql: str, via_socket: bool = False) -> str:
        """Run ``sql`` as root with the mariadb client; return its tab-separated rows.

        Over TCP (as ``root@127.0.0.1``) unless ``via_socket`` (as ``root@localhost``).
        """
        where = (["--protocol=SOCKET", f"--socket={self.socket}"] if via_socket else
                 ["--protocol=TCP", "-h", self.host, "-P", str(self.port)])
        proc = subprocess.run(
            [str(self.client), "--no-defaults", *where, "-u", "root", "--batch",
             "--skip-column-names", "-e", sql],
            capture_output=True, text=True, env=clean_env(), timeout=60, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"mariadb client on port {self.port} failed: "
                               f"{proc.stderr.strip()}")
        return proc.stdout.strip()

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        self.sql("CREATE DATABASE `{}`".format(name.replace("`", "``")))
        return self.url(name)

    def restart(self, kill: bool = False) -> None:
        """Stop the server and start it again on the same port, data and binlogs.

        A clean shutdown (SIGTERM) by default; ``kill`` sends SIGKILL instead, a crash that
        leaves InnoDB and the binlog to recover. Either way the server starts a new binlog file
        and hands out its table ids afresh, as a production server does after a restart.
        """
        if kill:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
        else:
            stop_process(self.process, signal.SIGTERM)
        with (self.base_dir / "mariadbd.out").open("ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.base_dir,
                                            env=clean_env())
        error = _wait_mariadb(self)
        if error is not None:
            raise RuntimeError(f"MariaDB {error} after a restart (log: {self.log}): "
                               f"{log_tail(self.log)}")

    def stop(self) -> None:
        """Normal shutdown (SIGTERM), then remove data and binlogs. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        stop_process(self.process, signal.SIGTERM)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.binlog_dir, ignore_errors=True)
        if self.socket.parent != self.base_dir:
            shutil.rmtree(self.socket.parent, ignore_errors=True)


FAST_COMMITS = ["--innodb-flush-log-at-trx-commit=0", "--sync-binlog=0"]
"""The default: InnoDB writes its log about once a second, and the binlog is never synced.
Fast, and a clean shutdown loses nothing; a kill -9 loses up to a second of commits from
InnoDB while the binlog (already written) keeps them, so turnout would copy rows the source
no longer holds after recovery."""
DURABLE_COMMITS = ["--innodb-flush-log-at-trx-commit=1", "--sync-binlog=1"]
"""Each commit is on disk in InnoDB's log and in the binlog before the client hears of it,
as on a production server: a test that kills mariadbd then sees the server lose nothing it
acknowledged, so whatever goes missing is turnout's doing."""


def start_mariadb(base_dir: Path, extra_args: Sequence[str] = (),
                  durable: bool = False) -> MariaDbServer:
    """Install and start a private MariaDB server with a ROW binlog, grants on.

    ``extra_args`` go to ``mariadbd`` after the defaults (e.g. ``["--binlog-row-metadata=FULL"]``).
    ``durable`` gives DURABLE_COMMITS instead of FAST_COMMITS: for tests that kill the server.
    Restarts (:meth:`MariaDbServer.restart`) keep the same command line.

    Everything lives in ``base_dir``; returns once root can log in over TCP on its own port.
    """
    base_dir.mkdir(parents=True, exist_ok=True)
    mariadbd = _which("mariadbd", "mysqld")
    install_db = _which("mariadb-install-db", "mysql_install_db")
    client = _which("mariadb", "mysql")
    if mariadbd is None or install_db is None or client is None:
        raise RuntimeError(
            "MariaDB binaries not found (mariadbd, mariadb-install-db, mariadb client): "
            "apt-get install mariadb-server"
        )
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    data_dir = base_dir / "data"
    binlog_dir = base_dir / "binlogs"
    binlog_dir.mkdir(exist_ok=True)
    run_logged([install_db, "--no-defaults", *as_root, f"--datadir={data_dir}",
                "--auth-root-authentication-method=normal", "--skip-test-db",
                "--skip-name-resolve"],
               base_dir / "install.log", "mariadb-install-db", cwd=base_dir)

    sock = short_dir(base_dir, "turnout-my-") / "mysqld.sock"
    log = base_dir / "mariadbd.err"
    tmp_dir = base_dir / "tmp"  # its own: servers side by side must not share temp files
    tmp_dir.mkdir(exist_ok=True)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port, offset = free_port(), size_of(log)
        args = [
            str(mariadbd), "--no-defaults", *as_root, f"--datadir={data_dir}",
            f"--socket={sock}", f"--port={port}", f"--bind-address={HOST}",
            "--skip-name-resolve", f"--log-bin={binlog_dir / 'binlog'}",
            "--binlog-format=ROW", "--binlog-row-image=FULL", "--server-id=1",
            *(DURABLE_COMMITS if durable else FAST_COMMITS), "--innodb-buffer-pool-size=128M",
            "--local-infile=1", f"--pid-file={base_dir / 'mariadbd.pid'}",
            f"--log-error={log}", f"--tmpdir={tmp_dir}",
            # Debian's packaged config sets these; --no-defaults would leave latin1.
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            *extra_args,
        ]
        with (base_dir / "mariadbd.out").open("ab") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=base_dir, env=clean_env())
        server = MariaDbServer(mariadbd, client, base_dir, sock, port, process, args=args)
        atexit.register(server.stop)
        error = _wait_mariadb(server)
        if error is None:
            try:
                server.sql(_BOOTSTRAP_SQL, via_socket=True)
                user = server.sql("SELECT CURRENT_USER()")
            except RuntimeError as exc:
                server.stop()
                raise RuntimeError(
                    f"MariaDB started but root can't log in without password: {exc}") from exc
            if user != "root@127.0.0.1":
                server.stop()
                raise RuntimeError(f"MariaDB root over TCP logged in as {user!r}")
            return server
        stop_process(process, signal.SIGTERM)
        atexit.unregister(server.stop)
        if attempt == PORT_ATTEMPTS or not port_taken(log, offset):
            server.stop()
            raise RuntimeError(f"MariaDB {error} (log: {log}): {log_tail(log)}")
    raise AssertionError("unreachable")


def _wait_mariadb(server: MariaDbServer) -> str | None:
    """None once ``server`` sends a protocol-10 greeting on its port, else why it never will."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if (code := server.process.poll()) is not None:
            return f"exited with status {code} while starting on port {server.port}"
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as sock:
                greeting = sock.recv(5)  # 3-byte length, sequence id, protocol version
            if len(greeting) == 5 and greeting[4] == 10:
                return None
        except OSError:
            pass
        time.sleep(0.05)
    return f"did not accept connections on port {server.port} within {START_TIMEOUT:.0f} s"
