"""A driver that is not installed is named with the extra that brings it, in one line and
before any connection: the user's next step, not an import error from inside an engine.

The driver is made missing for real in a process of its own (its entry in sys.modules set
to None, which is how Python marks a module that cannot be imported); no database is
involved, since the check comes before any connection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN_WITHOUT = ("import sys\n"
               "for name in sys.argv[1].split(','):\n"
               "    sys.modules[name] = None\n"
               "sys.argv = ['turnout', *sys.argv[2:]]\n"
               "from turnout.cli import main\n"
               "main()\n")


def turnout_without(home: Path, missing: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TURNOUT_HOME=str(home), COLUMNS="200")
    return subprocess.run([sys.executable, "-c", RUN_WITHOUT, missing, *args],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(("missing", "url", "extra"), [
    ("pymysql", "mysql://app:secret@127.0.0.1:1/shop", "turnout[mysql]"),
    ("MySQLdb", "mariadb://app@127.0.0.1:1/shop", "turnout[mysql]"),
    ("psycopg,psycopg2", "postgresql://app:secret@127.0.0.1:1/shop", "turnout[postgres]"),
])
def test_a_missing_driver_names_the_extra_in_one_line(
        home: Path, tmp_path: Path, missing: str, url: str, extra: str) -> None:
    created = turnout_without(home, missing, "task", "create", "t", "--source", url,
                              "--dest", f"sqlite:///{tmp_path / 'dst.db'}")
    assert created.returncode == 2, created.stderr
    lines = created.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install '{extra}'" in lines[0], lines
    assert missing.split(",")[0] in lines[0]
    assert "Traceback" not in created.stderr and "secret" not in created.stderr
    assert "unexpected" not in created.stderr

    listed = turnout_without(home, missing, "sessions", url)
    assert listed.returncode == 2 and f"pip install '{extra}'" in listed.stderr


def test_sqlite_needs_no_driver_beyond_python(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    source.touch()
    created = turnout_without(home, "psycopg,psycopg2,pymysql,MySQLdb,pymysqlreplication",
                              "task", "create", "t", "--source", f"sqlite:///{source}",
                              "--dest", f"sqlite:///{tmp_path / 'dst.db'}")
    assert created.returncode == 0, created.stderr
