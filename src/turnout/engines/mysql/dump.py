"""Backups with the server's own client tools: mysqldump (or mariadb-dump) out, mysql back in.

mysqldump --single-transaction reads InnoDB tables in one consistent snapshot
without locking writers. MySQL cannot hand that snapshot to another connection,
so the manifest's row counts come from a snapshot of turnout's own opened just
before: exact when nobody writes meanwhile. The password travels in MYSQL_PWD,
never on a command line; --no-defaults keeps option files from overriding the URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from turnout.engines.base import Engine
from turnout.engines.capabilities import Dumper
from turnout.errors import OperationFailed, Unsupported

FILE = "dump.sql"


class MysqlDumper(Dumper):
    """mysqldump (or mariadb-dump) and the mysql client for one database; `engine` (the
    same database) counts the rows, `settings` are its PyMySQL connect() arguments."""

    def __init__(self, engine: Engine, settings: dict[str, Any]) -> None:
        self.engine, self.settings = engine, settings

    def dump(self, tables: list[str], directory: Path) -> dict[str, Any] | None:
        """mysqldump of `tables` (definitions, triggers, rows); None when it is not installed."""
        tool = shutil.which("mysqldump") or shutil.which("mariadb-dump")
        if tool is None:
            return None
        with self.engine.snapshot() as snap:
            rows = {t.name: snap.count_rows(t) for t in self.engine.reflect(tables)}
        _run([tool, *_connection(self.settings), "--single-transaction", "--no-autocommit",
              "--hex-blob", "--no-tablespaces", "--result-file", str(directory / FILE),
              self.settings["database"], *tables], self.settings)
        return {"tool": Path(tool).name, "version": _version(tool), "files": [FILE],
                "rows": rows, "rows_counted": "in a snapshot of turnout's own just before the dump"}

    def restore(self, dumped: dict[str, Any], directory: Path, tables: list[str]) -> None:
        """Replay the dump with the mysql client: each table is dropped, created and filled
        (its rows in one transaction; MySQL commits DDL at once, so not the whole)."""
        if sorted(tables) != sorted(dumped["rows"]):
            raise Unsupported("a mysqldump backup restores whole: leave out the table selection")
        tool = shutil.which("mysql") or shutil.which("mariadb")
        if tool is None:
            raise OperationFailed("the mysql client is not installed: install it (e.g. apt-get "
                                  "install mariadb-client)")
        with open(directory / FILE, "rb") as script:
            _run([tool, *_connection(self.settings), self.settings["database"]], self.settings,
                 script)


def _connection(settings: dict[str, Any]) -> list[str]:
    """The client options reaching the server the URL names, as PyMySQL reaches it (TCP
    unless the URL gives a socket); --no-defaults must come first."""
    args = ["--no-defaults", f"--user={settings['user']}", "--default-character-set=utf8mb4"]
    if settings.get("unix_socket"):
        return [*args, f"--socket={settings['unix_socket']}"]
    return [*args, "--protocol=TCP", f"--host={settings['host']}", f"--port={settings['port']}"]


def _version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def _run(args: list[str], settings: dict[str, Any], stdin: Any = None) -> None:
    """Run a client tool with the password in its environment; its complaint becomes the error."""
    env = dict(os.environ)
    env.pop("MYSQL_PWD", None)
    if settings.get("password"):
        env["MYSQL_PWD"] = settings["password"]
    done = subprocess.run(args, env=env, stdin=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        lines = [x.strip() for x in done.stderr.decode(errors="replace").splitlines() if x.strip()]
        raise OperationFailed(f"{Path(args[0]).name} failed (exit {done.returncode}): "
                              f"{lines[-1] if lines else 'no message'}")
