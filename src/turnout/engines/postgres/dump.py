"""Backups with PostgreSQL's own tools: pg_dump's custom format out, pg_restore back in.

pg_dump reads inside a snapshot turnout exports from its own REPEATABLE READ
transaction, so the row counts written to the manifest describe exactly the
rows in the dump. The password travels in PGPASSWORD, never on a command line
other users of the machine could read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from turnout.engines.base import Engine
from turnout.engines.capabilities import Dumper
from turnout.engines.postgres.dialect import qualified, quote
from turnout.engines.postgres.snapshot import PgSnapshot, export
from turnout.errors import OperationFailed, Unsupported

FILE = "dump.pgdump"


class PgDumper(Dumper):
    """pg_dump and pg_restore for one schema of the database at `url`; `engine` (the same
    database) gives the snapshot the dump reads in."""

    def __init__(self, engine: Engine, url: str, schema: str) -> None:
        self.engine, self.url, self.schema = engine, url, schema

    def dump(self, tables: list[str], directory: Path) -> dict[str, Any] | None:
        """pg_dump --format=custom of `tables` (with their indexes, constraints, owned
        sequences and grants) in one snapshot; None when pg_dump is not installed."""
        tool = shutil.which("pg_dump")
        if tool is None:
            return None
        dsn, env = _conninfo(self.url)
        with self.engine.snapshot() as snap:
            assert isinstance(snap, PgSnapshot)
            snapshot = export(snap.conn)  # valid while this transaction stays open
            rows = {t: _count(snap, self.schema, t) for t in tables}
            patterns = [arg for t in tables for arg in ("--table", _pattern(self.schema, t))]
            _run([tool, "--format=custom", "--file", str(directory / FILE), "--snapshot",
                  snapshot, "--dbname", dsn, *patterns], env)
        return {"tool": "pg_dump", "version": _version(tool), "files": [FILE], "rows": rows,
                "schema": self.schema}

    def restore(self, dumped: dict[str, Any], directory: Path, tables: list[str]) -> None:
        """pg_restore --clean --if-exists in one transaction: every table comes back, or none."""
        if dumped.get("schema", "public") != self.schema:
            raise Unsupported(f"the dump holds schema {dumped.get('schema')!r} and pg_restore "
                              "cannot rename it: restore into a URL with "
                              f"?schema={dumped.get('schema')}")
        if sorted(tables) != sorted(dumped["rows"]):
            raise Unsupported("a pg_dump backup restores whole: leave out the table selection")
        tool = shutil.which("pg_restore")
        if tool is None:
            raise OperationFailed("pg_restore is not installed: install the PostgreSQL client "
                                  "tools (e.g. apt-get install postgresql-client)")
        dsn, env = _conninfo(self.url)
        _run([tool, "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
              "--dbname", dsn, str(directory / FILE)], env)


def _count(snap: PgSnapshot, schema: str, table: str) -> int:
    return int(snap.conn.execute(f"SELECT count(*) FROM {qualified(schema, table)}").fetchone()[0])


def _pattern(schema: str, table: str) -> str:
    """pg_dump's --table pattern for exactly this table: inside double quotes nothing is
    a wildcard and case is kept."""
    return f"{quote(schema)}.{quote(table)}"


def _conninfo(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and an environment carrying it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def _version(tool: str) -> str:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def _run(args: list[str], env: dict[str, str]) -> None:
    """Run a client tool; its last line of complaint becomes the error."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OperationFailed(f"{Path(args[0]).name} failed (exit {done.returncode}): "
                              f"{complaint(done.stderr)}")


def complaint(stderr: str) -> str:
    """The line that says what went wrong: the first error, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()] or ["no message"]
    return next((line for line in lines if "error" in line.lower()), lines[-1])
