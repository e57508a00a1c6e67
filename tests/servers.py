"""Throwaway PostgreSQL and MariaDB servers for the integration tests.

The project rule is that the test suite never uses the machine's long-running database
services (nor their ports, data directories or settings): it starts its own servers from the
installed server binaries, on free ports of 127.0.0.1 and in fresh data directories, and stops
them after. ``.ci/run`` installs the Debian packages that provide the binaries on a bare machine.

- :func:`start_postgres` runs ``initdb`` (trust auth, UTF8) and ``postgres`` with
  ``wal_level=logical``. PostgreSQL refuses to run as root, so when the tests run as root the
  cluster is owned and run by the ``postgres`` OS user, in a data directory under the system
  temp dir (pytest's own temp dirs are ``0700 root`` and that user could not enter them).
- :func:`start_mariadb` runs ``mariadb-install-db`` and ``mariadbd`` with a ROW binlog; grants
  stay on, and ``root`` logs in over TCP without a password.

Each server keeps its logs in the ``base_dir`` it was given, for debugging a failed start.
Any failure raises :class:`RuntimeError` with a one-line message that ends in the tail of the
relevant log: the tests must fail loudly, never skip, when a server can't be had.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 30.0
"""Seconds a server gets to accept connections before the start counts as failed."""
STOP_TIMEOUT = 30.0
"""Seconds a server gets to shut down cleanly before it is killed."""
HOST = "127.0.0.1"
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; PostgreSQL adds "/.s.PGSQL.NNNNN"
_PORT_ATTEMPTS = 3  # a free port can be taken by someone else between probe and bind
_PORT_IN_USE = re.compile(r"address already in use|could not bind|bind on tcp/ip port", re.I)
_ERROR_LINE = re.compile(r"\b(error|fatal|panic)\b", re.I)


# --------------------------------------------------------------------------- shared helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 4) -> str:
    """The last error lines of a log (else its last lines), joined into one line."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    all_lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in all_lines if _ERROR_LINE.search(line)]
    return " | ".join((errors or all_lines)[-lines:]) or f"(empty log {path})"


def _port_taken(log: Path, offset: int) -> bool:
    """Whether what the server wrote to ``log`` after ``offset`` says its port was taken."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return False
    return bool(_PORT_IN_USE.search(text))


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _env() -> dict[str, str]:
    """The environment minus the client variables that could point a tool at another server."""
    drop = ("PG", "MYSQL", "MARIADB")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["LC_ALL"] = "C.UTF-8"
    return env


def _run(args: Sequence[str | Path], log: Path, what: str, **kwargs: object) -> None:
    """Run a set-up command with its output appended to ``log``; raise if it fails."""
    with log.open("ab") as out:
        try:
            proc = subprocess.run(
                [str(a) for a in args], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=_env(), timeout=120, check=False,
                **kwargs,  # type: ignore[call-overload]
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"{what} failed: {exc} (log: {log})") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{what} exited {proc.returncode} (log: {log}): {_tail(log)}")


def _stop_process(proc: subprocess.Popen[bytes], first: signal.Signals) -> None:
    """Send ``first`` (the server's clean-shutdown signal), then SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(first)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _short_dir(preferred: Path, prefix: str) -> Path:
    """``preferred`` if a Unix socket path under it fits, else a new short temp dir."""
    if len(str(preferred)) + 20 <= _SOCKET_PATH_MAX:
        preferred.mkdir(parents=True, exist_ok=True)
        return preferred
    return Path(tempfile.mkdtemp(prefix=prefix))


# --------------------------------------------------------------------------- PostgreSQL


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
            capture_output=True, text=True, env=_env(), timeout=60, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql on port {self.port} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        self.psql('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the data directory. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        _stop_process(self.process, signal.SIGINT)
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
        _run([bindir / "initdb", "-D", data_dir, "-A", "trust", "-U", "postgres", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync"],
             base_dir / "initdb.log", "initdb", cwd=run_dir, **as_user)
        _ensure_replication_hba(data_dir)
        log = base_dir / "postgres.log"
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port, offset = free_port(), _size(log)
            with log.open("ab") as out:
                process = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(data_dir), *_pg_settings(port, run_dir),
                     *extra_args],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=run_dir, env=_env(), **as_user,  # type: ignore[call-overload]
                )
            server = PgServer(bindir, base_dir, run_dir, port, process, os_user)
            atexit.register(server.stop)
            error = _wait_pg(server)
            if error is None:
                return server
            _stop_process(process, signal.SIGINT)
            atexit.unregister(server.stop)
            if attempt == _PORT_ATTEMPTS or not _port_taken(log, offset):
                raise RuntimeError(f"PostgreSQL {error} (log: {log}): {_tail(log)}")
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
        if subprocess.run(isready, env=_env(), check=False, timeout=10).returncode == 0:
            return None
        time.sleep(0.05)
    return f"did not accept connections on port {server.port} within {START_TIMEOUT:.0f} s"


# --------------------------------------------------------------------------- MariaDB


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
            capture_output=True, text=True, env=_env(), timeout=60, check=False,
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
            _stop_process(self.process, signal.SIGTERM)
        with (self.base_dir / "mariadbd.out").open("ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.base_dir,
                                            env=_env())
        error = _wait_mariadb(self)
        if error is not None:
            raise RuntimeError(f"MariaDB {error} after a restart (log: {self.log}): "
                               f"{_tail(self.log)}")

    def stop(self) -> None:
        """Normal shutdown (SIGTERM), then remove data and binlogs. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        _stop_process(self.process, signal.SIGTERM)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.binlog_dir, ignore_errors=True)
        if self.socket.parent != self.base_dir:
            shutil.rmtree(self.socket.parent, ignore_errors=True)


def start_mariadb(base_dir: Path, extra_args: Sequence[str] = ()) -> MariaDbServer:
    """Install and start a private MariaDB server with a ROW binlog, grants on.

    ``extra_args`` go to ``mariadbd`` after the defaults (e.g. ``["--binlog-row-metadata=FULL"]``).

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
    _run([install_db, "--no-defaults", *as_root, f"--datadir={data_dir}",
          "--auth-root-authentication-method=normal", "--skip-test-db",
          "--skip-name-resolve"],
         base_dir / "install.log", "mariadb-install-db", cwd=base_dir)

    sock = _short_dir(base_dir, "turnout-my-") / "mysqld.sock"
    log = base_dir / "mariadbd.err"
    tmp_dir = base_dir / "tmp"  # its own: servers side by side must not share temp files
    tmp_dir.mkdir(exist_ok=True)
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port, offset = free_port(), _size(log)
        args = [
            str(mariadbd), "--no-defaults", *as_root, f"--datadir={data_dir}",
            f"--socket={sock}", f"--port={port}", f"--bind-address={HOST}",
            "--skip-name-resolve", f"--log-bin={binlog_dir / 'binlog'}",
            "--binlog-format=ROW", "--binlog-row-image=FULL", "--server-id=1",
            "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=128M",
            "--local-infile=1", f"--pid-file={base_dir / 'mariadbd.pid'}",
            f"--log-error={log}", f"--tmpdir={tmp_dir}",
            # Debian's packaged config sets these; --no-defaults would leave latin1.
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            *extra_args,
        ]
        with (base_dir / "mariadbd.out").open("ab") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=base_dir, env=_env())
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
        _stop_process(process, signal.SIGTERM)
        atexit.unregister(server.stop)
        if attempt == _PORT_ATTEMPTS or not _port_taken(log, offset):
            server.stop()
            raise RuntimeError(f"MariaDB {error} (log: {log}): {_tail(log)}")
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
