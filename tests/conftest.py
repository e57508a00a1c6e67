"""Shared fixtures: a private TURNOUT_HOME per test and helpers to build real SQLite files."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from turnout.store import Store


def pytest_configure(config: pytest.Config) -> None:
    """A temp root of this run's own: pytest keeps only the three newest runs' folders under
    one shared root, so two runs side by side (two checkouts, a developer and CI) would delete
    the data directories of each other's live test servers."""
    if config.option.basetemp is None:
        config.option.basetemp = _OWN_ROOT[0] = tempfile.mkdtemp(prefix="turnout-tests-")


_OWN_ROOT: list[str] = [""]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run's temp root goes once it passed; a failed run keeps it, with the servers' logs."""
    if _OWN_ROOT[0] and exitstatus == 0:
        shutil.rmtree(_OWN_ROOT[0], ignore_errors=True)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("TURNOUT_HOME", str(path))
    return path


@pytest.fixture()
def store(home: Path) -> Store:
    return Store(home)


def make_db(path: Path, script: str) -> Path:
    db = sqlite3.connect(path)
    db.executescript(script)
    db.close()
    return path


def rows(path: Path, table: str, order: str | None = None) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        quoted = '"' + table.replace('"', '""') + '"'
        sql = f"SELECT * FROM {quoted}" + (f" ORDER BY {order}" if order else " ORDER BY 1")
        return db.execute(sql).fetchall()
    finally:
        db.close()


def all_rows(path: Path, exclude_turnout: bool = True) -> dict[str, list[tuple]]:
    """Every user table's rows, sorted, keyed by table name."""
    db = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
            if not (exclude_turnout and r[0].startswith("_turnout"))
        ]
        out = {}
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            out[name] = sorted(db.execute(f"SELECT * FROM {quoted}").fetchall(), key=repr)
        return out
    finally:
        db.close()
