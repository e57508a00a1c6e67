"""A throwaway PostgreSQL cluster with ``wal_level=logical``, started from installed binaries.

PostgreSQL refuses to run as root, so when the caller is root the cluster is owned and run by
the ``postgres`` OS user, in a data directory under the system temp dir (pytest's own temp dirs
are ``0700 root`` and that user could not enter them).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
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
    run_logged,
    size_of,
    stop_process,
)


def _pg_version(bindir: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def find_pg_bindir() -> Path:
    """The newest PostgreSQL bin directory that has ``initdb``, ``postgres`` and ``pg_isready``.

    Candidates: ``pg_config --bindir`` (on Debian that is libpq-dev's, which may lack the
    server), every ``/usr/lib/postgresql/*/bin``, and the directory of ``initdb`` on PATH.
    """
    candidates: list[Path] = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    usable = {
        d.resolve(): _pg_version(d) for d in candidates
        if all((d / exe).is_file() for exe in ("initdb", "postgres", "pg_isready", "psql"))
    }
    if not usable:
        raise RuntimeError(
            "PostgreSQL server binaries not found (initdb/postgres/pg_isready/psql in "
            "pg_config --bindir or /usr/lib/postgresql/*/bin): apt-get install postgresql"
        )
    return max(usable, key=lambda d: usable[d])


def _pg_os_user() -> pwd.struct_passwd | None:
    """The OS user to run PostgreSQL as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root but there is no 'postgres' OS user to run PostgreSQL as "
            "(the postgresql package creates it): apt-get install postgresql"
        ) from None


@dataclass
class PgServer:
    """A running throwaway PostgreSQL cluster; :meth:`stop` shuts it down and deletes it."""

    bindir: Path
    base_dir: Path
    """Holds the logs (``initdb.log``, ``postgres.log``)."""
    run_dir: Path
    """Holds ``data/`` and the Unix socket; owned by the OS user that runs the server."""
    port: int
    process: subprocess.Popen[bytes]
    os_user: pwd.struct_passwd | None = None
    host: str = HOST
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def log(self) -> Path:
        return self.base_dir / "postgres.log"

    def url(self, db: str = "postgres", user: str = "postgres") -> str:
        """A libpq URL for ``db`` as ``user`` (trust auth: no password)."""
        return f"postgresql://{user}@{self.host}:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run ``sql`` with psql as the superuser and return its unaligned output."""
        proc = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-d", self.url(db), "-c", sql],
            capture_output=True, text=True, env=clean_env(), timeout=60, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql on port {self.port} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        self.psql('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
        return self.url(name)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT), then remove the data directory. Safe to call twice.

        The data is thrown away, so nothing needs writing first; and a fast shutdown waits
        for every walsender to hand its WAL over, which a replication client that stopped
        reading (a test's leftover worker thread) never lets happen: the full suite lost
        STOP_TIMEOUT (30 s) at the end of a test process to that."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        stop_process(self.process, signal.SIGQUIT)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _pg_settings(port: int, socket_dir: Path) -> list[str]:
    settings = {
        "wal_level": "logical",
        "max_replication_slots": "40",  # tests leave slots until their task is deleted
        "max_wal_senders": "40",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "listen_addresses": HOST,
        "port": str(port),
        "unix_socket_directories": str(socket_dir),
    }
    return [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]


def _ensure_replication_hba(data_dir: Path) -> None:
    """Make sure replication connections from 127.0.0.1 are trusted (initdb -A trust does it)."""
    hba = data_dir / "pg_hba.conf"
    wanted = re.compile(r"^\s*host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust\b", re.M)
    if not wanted.search(hba.read_text()):
        with hba.open("a") as out:
            out.write("host    replication     all             127.0.0.1/32            trust\n")


def start_postgres(base_dir: Path, extra_args: Sequence[str] = ()) -> PgServer:
    """Initialise and start a private PostgreSQL cluster with ``wal_level=logical``.

    ``extra_args`` go to ``postgres`` after the defaults (e.g. ``["-c", "max_connections=20"]``).

    Logs go to ``base_dir``; the cluster lives in a temp dir that :meth:`PgServer.stop` deletes.
    Returns once the server accepts connections on its own port of 127.0.0.1.
    """
    base_dir.mkdir(parents=True, exist_ok=True)
    bindir = find_pg_bindir()
    os_user = _pg_os_user()
    run_dir = Path(tempfile.mkdtemp(prefix="turnout-pg-"))
    as_user: dict[str, object] = {}
    if os_user is not None:
        os.chown(run_dir, os_user.pw_uid, os_user.pw_gid)
        as_user = {"user": os_user.pw_uid, "group": os_user.pw_gid, "extra_groups": []}
    data_dir = run_dir / "data"
    try:
        (base_dir / "data").symlink_to(data_dir)  # for whoever reads the logs later
    except OSError:
        pass

    try:
        run_logged([bindir / "initdb", "-D", data_dir, "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                   base_dir / "initdb.log", "initdb", cwd=run_dir, **as_user)
        _ensure_replication_hba(data_dir)
        log = base_dir / "postgres.log"
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port, offset = free_port(), size_of(log)
            with log.open("ab") as out:
                process = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(data_dir), *_pg_settings(port, run_dir),
                     *extra_args],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=run_dir, env=clean_env(), **as_user,  # type: ignore[call-overload]
                )
            server = PgServer(bindir, base_dir, run_dir, port, process, os_user)
            atexit.register(server.stop)
            error = _wait_pg(server)
            if error is None:
                return server
            stop_process(process, signal.SIGINT)
            atexit.unregister(server.stop)
            if attempt == PORT_ATTEMPTS or not port_taken(log, offset):
                raise RuntimeError(f"PostgreSQL {error} (log: {log}): {log_tail(log)}")
        raise AssertionError("unreachable")
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _wait_pg(server: PgServer) -> str | None:
    """None once ``server`` accepts connections, else why it never will."""
    deadline = time.monotonic() + START_TIMEOUT
    isready = [str(server.bindir / "pg_isready"), "-q", "-t", "1", "-h", server.host,
               "-p", str(server.port), "-U", "postgres", "-d", "postgres"]
    while time.monotonic() < deadline:
        if (code := server.process.poll()) is not None:
            return f"exited with status {code} while starting on port {server.port}"
        if subprocess.run(isready, env=clean_env(), check=False, timeout=10).returncode == 0:
            return None
        time.sleep(0.05)
    return f"did not accept connections on port {server.port} within {START_TIMEOUT:.0f} s"
