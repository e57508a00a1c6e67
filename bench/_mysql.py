"""Helpers shared by the MySQL benchmarks (bench/mysql_full.py, bench/mysql_incremental.py).

- private throwaway servers from turnout.testing.servers (never the machine's own services), started
  the way the integration tests start them (ROW binlog with column names);
- sysbench to fill and load the source, turnout driven through its CLI with a TURNOUT_HOME of
  its own, as a user would;
- the content check run on each side: row count, sum(k) and an md5 over c || pad in id order
  (md5 per 1,000 ids, then md5 over those: one string of every row would exceed MySQL's
  max_allowed_packet and be cut short);
- a profiler for the turnout CLI: ``python -m cProfile`` sees only the main thread, and
  turnout copies and reads ahead in threads, so ``python bench/_mysql.py profile OUT ARGS…``
  runs ``turnout ARGS…`` in process with one cProfile per thread, merged into OUT.
"""

from __future__ import annotations

import cProfile
import functools
import json
import pstats
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import pymysql
from _common import Timer, children_cpu, need

import turnout
from turnout.testing.servers import MariaDbServer, clean_env, start_mariadb

TABLE = "sbtest1"
MARIADB_ARGS = ["--binlog-row-metadata=FULL", "--max-connections=300",
                "--innodb-buffer-pool-size=1G"]
"""As tests/integration/conftest.py starts MariaDB, with a buffer pool that holds the table."""
GROUP = 1000  # ids per md5 group of the content check
MY_CHECK = (
    f"SELECT sum(n), sum(sk), md5(group_concat(h ORDER BY g SEPARATOR '')) FROM ("
    f"SELECT id DIV {GROUP} AS g, count(*) AS n, sum(k) AS sk, "
    f"md5(group_concat(c, pad ORDER BY id SEPARATOR '')) AS h FROM {TABLE} GROUP BY g) AS t"
)
PG_CHECK = (
    f"SELECT sum(n), sum(sk), md5(string_agg(h, '' ORDER BY g)) FROM ("
    f"SELECT id / {GROUP} AS g, count(*) AS n, sum(k) AS sk, "
    f"md5(string_agg(c || pad, '' ORDER BY id)) AS h FROM {TABLE} GROUP BY 1) AS t"
)
SKIP_THREADS = {"_watch_stop"}  # turnout's stop-request poller: idle, and only noise


def start_source(base: Path) -> MariaDbServer:
    return start_mariadb(base, MARIADB_ARGS)


def my_connect(server: MariaDbServer, db: str | None = None, **kw: Any) -> Any:
    return pymysql.connect(host=server.host, port=server.port, user="root", database=db,
                           autocommit=True, charset="utf8mb4", **kw)


def my_query(server: MariaDbServer, db: str | None, sql: str) -> list[tuple[Any, ...]]:
    with my_connect(server, db) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def my_client_args(server: MariaDbServer) -> list[str]:
    """Connection options for the mariadb / mysqldump command-line tools."""
    return ["--no-defaults", "--protocol=TCP", "-h", server.host, "-P", str(server.port),
            "-u", "root"]


def my_fresh_db(server: MariaDbServer, db: str) -> str:
    my_query(server, None, f"DROP DATABASE IF EXISTS `{db}`")
    my_query(server, None, f"CREATE DATABASE `{db}`")
    return server.url(db)


def pg_query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def my_content(server: MariaDbServer, db: str) -> tuple[str, ...]:
    with my_connect(server, db) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION group_concat_max_len = 16777216")
        cur.execute(MY_CHECK)
        row = cur.fetchone()
    return tuple(str(v) for v in row)


def pg_content(url: str) -> tuple[str, ...]:
    return tuple(str(v) for v in pg_query(url, PG_CHECK)[0])


def my_index_problem(server: MariaDbServer, db: str) -> str | None:
    """None when the destination has PRIMARY on (id) and k_1 on (k), else what is wrong."""
    rows = my_query(server, None, "SELECT index_name, column_name FROM "
                    f"information_schema.statistics WHERE table_schema = '{db}' AND "
                    f"table_name = '{TABLE}' ORDER BY index_name, seq_in_index")
    found = {(str(r[0]), str(r[1])) for r in rows}
    if ("PRIMARY", "id") in found and ("k_1", "k") in found:
        return None
    return f"want PRIMARY (id) and k_1 (k), found {sorted(found)}"


def pg_index_problem(url: str) -> str | None:
    rows = pg_query(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
                    f"'{TABLE}' ORDER BY indexname")
    defs = [f"{r[0]}: {r[1]}" for r in rows]
    primary = pg_query(url, "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND "
                       f"conrelid = '{TABLE}'::regclass")[0][0]
    if primary == 1 and any(r[0] == "k_1" and str(r[1]).endswith("(k)") for r in rows):
        return None
    return f"want a primary key and k_1 (k), found {defs}"


def sysbench(server: MariaDbServer, db: str, test: str, command: str, table_size: int,
             *extra: str, timeout: float = 3600) -> str:
    """Run ``sysbench TEST … COMMAND`` against ``db``; its output, or exit with its error."""
    exe = need("sysbench")
    cmd = [exe, test, f"--mysql-host={server.host}", f"--mysql-port={server.port}",
           "--mysql-user=root", f"--mysql-db={db}", "--tables=1",
           f"--table-size={table_size}", *extra, command]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(),
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        sys.exit(f"sysbench {test} {command} exited {proc.returncode}: "
                 f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc.stdout


# --------------------------------------------------------------------------- turnout CLI


@functools.cache
def compiled_env() -> dict[str, str]:
    """clean_env(), with turnout's modules byte-compiled once beside them (`make` does too).

    An installed package comes compiled; this checkout's editable install may not be, and
    where PYTHONDONTWRITEBYTECODE is set every command would compile all of turnout again
    (0.3 CPU seconds per command on the development box), which a user never pays. The
    bytecode goes to the package's own __pycache__: a PYTHONPYCACHEPREFIX (used here until
    2026-12-07) sends every import there, so the drivers' and Rich's bytecode, which pip
    wrote into site-packages, was not found and each command compiled them from source:
    0.55 CPU s and 0.6 s of wall time more per `turnout verify` than a user pays."""
    env = clean_env()
    package = Path(turnout.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env,
                   check=True)
    return env


class TurnoutCli:
    """The `turnout` command of this virtualenv with a TURNOUT_HOME of its own."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.exe = str(Path(sys.executable).parent / "turnout")
        if not Path(self.exe).exists():
            sys.exit(f"no turnout command beside {sys.executable}: run the bench with "
                     ".venv/bin/python (`make test` creates .venv and installs turnout)")
        self.env = dict(compiled_env(), TURNOUT_HOME=str(home))
        self.cpu = 0.0  # CPU seconds of the last copy()'s two commands

    def __call__(self, *args: str, timeout: float = 3600) -> str:
        proc = subprocess.run([self.exe, *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"turnout {' '.join(args)} exited {proc.returncode}: "
                               f"{(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def create(self, name: str, source: str, dest: str, types: str) -> None:
        self("task", "create", name, "--source", source, "--dest", dest, "--types", types)

    def copy(self, name: str, source: str, dest: str) -> float:
        """Seconds to create task ``name`` (schema + full) and run it to the end, as a user
        would with two commands; exits with the task's error unless it completed."""
        cpu = children_cpu()
        with Timer() as timer:
            self.create(name, source, dest, "schema,full")
            self("task", "run", name)
        self.cpu = children_cpu() - cpu
        status = self.status(name)
        if status["state"] != "Completed":
            sys.exit(f"turnout ended {status['state']}: {status['error']}")
        return timer.seconds

    def status(self, name: str) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(self("task", "status", name, "--json"))
        return status

    def profiled(self, out: Path, *args: str) -> subprocess.Popen[bytes]:
        """``turnout ARGS…`` under the per-thread profiler of this module, writing to ``out``."""
        log = (self.home / "profile.log").open("ab")
        return subprocess.Popen([sys.executable, __file__, "profile", str(out), *args],
                                stdout=log, stderr=log, env=self.env)


def profile_cli(out: Path, argv: Sequence[str]) -> int:
    """Run ``turnout ARGV`` here with a cProfile in every thread; merged stats to ``out``."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    thread_run = threading.Thread.run

    def run(self: threading.Thread) -> None:
        target = getattr(self, "_target", None)
        if getattr(target, "__name__", "") in SKIP_THREADS:
            thread_run(self)
            return
        prof = cProfile.Profile()
        with lock:
            profiles.append(prof)
        prof.enable()
        try:
            thread_run(self)
        finally:
            prof.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    main_prof = cProfile.Profile()
    profiles.append(main_prof)
    sys.argv = ["turnout", *argv]
    from turnout.cli import main

    code: int | str | None = 0
    main_prof.enable()
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    finally:
        main_prof.disable()
        merged: pstats.Stats | None = None
        for prof in profiles:
            try:
                stats = pstats.Stats(prof)
            except TypeError:  # a thread that recorded nothing
                continue
            if merged is None:
                merged = stats
            else:
                merged.add(stats)
        if merged is not None:
            merged.dump_stats(str(out))
    return code if isinstance(code, int) else 1


PLUMBING_FILES = ("threading.py", "concurrent/futures/", "click/", "turnout/cli/")
PLUMBING_CALLS = ("'get' of '_queue.SimpleQueue'", "'acquire' of '_thread.lock'",
                  "time.sleep", "'wait' of", "'result' of")


def _plumbing(file: str, line: int, func: str) -> bool:
    """Thread start-up, click dispatch and waits for another thread: in every profile, at the
    top of the cumulative list, and saying nothing about where the work is."""
    return any(p in file for p in PLUMBING_FILES) or any(c in func for c in PLUMBING_CALLS)


def top_functions(path: Path, key: str = "cumulative", count: int = 15,
                  within: str = "") -> list[str]:
    """The ``count`` top functions of a profile by ``key``, one line each, plumbing left out
    (only those whose file path contains ``within``, when given)."""
    stats = pstats.Stats(str(path))
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    index = {"cumulative": 3, "tottime": 2}[key]
    ranked = sorted(((k, v) for k, v in raw.items() if not _plumbing(*k) and within in k[0]),
                    key=lambda item: item[1][index], reverse=True)
    lines = [f"{'cumtime s':>10} {'tottime s':>10} {'calls':>10}  function"]
    for (file, line, func), (_, calls, tottime, cumtime, _) in ranked[:count]:
        where = file
        for marker in ("site-packages/", "/src/", "/lib/python3"):
            if marker in file:
                where = file.split(marker, 1)[1]
                break
        lines.append(f"{cumtime:10.2f} {tottime:10.2f} {calls:>10}  {where}:{line}({func})")
    return lines


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "profile":
        sys.exit(profile_cli(Path(sys.argv[2]), sys.argv[3:]))
    sys.exit("usage: python bench/_mysql.py profile OUT TURNOUT-ARGS...")
