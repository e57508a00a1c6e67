"""The `turnout` command as a user runs it: real processes, real files, the JSON contracts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import all_rows, make_db

SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO item VALUES (1, 'apple'), (2, 'pear');
"""


def turnout(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, TURNOUT_HOME=str(home), COLUMNS="200")
    # in the test's own folder: files a command writes by default (a repair script) land there
    return subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=home if home.is_dir() else None)


def status(home: Path, name: str) -> dict:
    result = turnout(home, "task", "status", name, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait(home: Path, name: str, predicate, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = status(home, name)
        if predicate(current):
            return current
        time.sleep(0.2)
    raise AssertionError(f"timed out; last status {current}")


def test_create_start_status_stop_delete(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    created = turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}",
                      "--dest", f"sqlite:///{dst}", "--rename", "item.name=title")
    assert created.returncode == 0, created.stderr
    assert "created task shop" in created.stdout

    started = turnout(home, "task", "start", "shop")
    assert started.returncode == 0, started.stderr
    current = wait(home, "shop", lambda s: s["phase"] == "incremental" and s["delay_s"] == 0)
    assert {"name", "state", "phase", "delay_s", "pid", "tables"} <= set(current)
    assert current["state"] == "Migrating" and isinstance(current["pid"], int)
    assert current["tables"] == [{"source": "item", "dest": "item", "rows_copied": 2,
                                  "rows_total": 2, "done": True}]

    db = sqlite3.connect(src)
    db.execute("INSERT INTO item VALUES (3, 'plum')")
    db.commit()
    db.close()
    # fresh: updated within 5 s, room enough for a busy box
    wait(home, "shop", lambda s: s["delay_s"] == 0 and s["updated"] > time.time() - 5)
    time.sleep(0.3)
    assert sqlite3.connect(dst).execute("SELECT title FROM item WHERE id = 3").fetchone() == (
        "plum",)

    assert status(home, "shop")["changes_applied"] >= 1
    human = turnout(home, "task", "status", "shop")
    assert "Incremental Data Migration" in human.stdout and "not delayed" in human.stdout
    assert "changes applied" in human.stdout

    listed = turnout(home, "task", "list", "--json")
    assert [t["name"] for t in json.loads(listed.stdout)] == ["shop"]

    again = turnout(home, "task", "start", "shop")
    assert again.returncode == 1 and "already running" in again.stderr

    stopped = turnout(home, "task", "stop", "shop")
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout
    assert status(home, "shop")["pid"] is None

    events = turnout(home, "task", "events", "shop")
    assert "Full Data Migration started" in events.stdout

    deleted = turnout(home, "task", "delete", "shop")
    assert deleted.returncode == 0
    assert turnout(home, "task", "status", "shop").returncode == 2


def test_run_in_foreground_completes_a_task_without_incremental(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    toml = tmp_path / "task.toml"
    toml.write_text(f'source = "sqlite:///{src}"\ndest = "sqlite:///{dst}"\n'
                    'types = ["schema", "full"]\n')
    assert turnout(home, "task", "create", "once", "--file", str(toml)).returncode == 0
    ran = turnout(home, "task", "run", "once")
    assert ran.returncode == 0, ran.stderr
    assert "Completed" in ran.stdout and "item" in ran.stdout
    assert all_rows(dst) == all_rows(src)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["task", "create", "t", "--source", "oracle://u:secretpw@h/db", "--dest",
          "sqlite:///x.db"], "unknown URL scheme 'oracle'"),
        (["task", "create", "t", "--source", "sqlite:///nope/missing.db", "--dest",
          "sqlite:///x.db"], "does not exist"),
        (["task", "create", "t", "--source", "sqlite:///a.db", "--dest", "sqlite:///b.db",
          "--types", "full,incrementl"], "unknown migration type 'incrementl'"),
        (["task", "create", "t"], "needs --source"),
        (["task", "status", "ghost"], "no task named 'ghost'"),
        (["task", "start", "ghost"], "no task named 'ghost'"),
        (["sessions", "mysql://root:secretpw@127.0.0.1:1/db"], "cannot connect"),
        (["task", "frobnicate"], "No such command"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback_no_password(
    home: Path, args: list[str], message: str
) -> None:
    result = turnout(home, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "secretpw" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(home: Path) -> None:
    result = turnout(home, "--debug", "task", "status", "ghost")
    assert result.returncode == 2 and "Traceback" in result.stderr


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sessions_lists_processes_holding_the_file_and_who_writes(
    home: Path, tmp_path: Path, journal: str
) -> None:
    path = make_db(tmp_path / "app.db", f"PRAGMA journal_mode={journal};" + SHOP)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "db.execute('BEGIN IMMEDIATE'); db.execute(\"INSERT INTO item VALUES (9, 'x')\")\n"
         "print('ready', flush=True); time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = turnout(home, "sessions", f"sqlite:///{path}", "--json")
        assert result.returncode == 0, result.stderr
        found = {int(s["id"]): s for s in json.loads(result.stdout)}
        assert holder.pid in found and found[holder.pid]["writing"] is True
        assert not found[holder.pid]["own"]
        human = turnout(home, "sessions", f"sqlite:///{path}")
        assert str(holder.pid) in human.stdout
    finally:
        holder.kill()
        holder.wait()


def test_demo_runs_and_reports_identical_rows(home: Path, tmp_path: Path) -> None:
    result = turnout(home, "demo", "--seconds", "2", "--dir", str(tmp_path / "demo"),
                     timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not delayed" in result.stdout
    assert "source and destination hold the same rows" in result.stdout


def test_ctrl_c_stops_a_foreground_run_cleanly(home: Path, tmp_path: Path) -> None:
    import signal

    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    assert turnout(home, "task", "create", "fg", "--source", f"sqlite:///{src}", "--dest",
                   f"sqlite:///{dst}").returncode == 0
    env = dict(os.environ, TURNOUT_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "turnout", "task", "run", "fg"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait(home, "fg", lambda s: s["phase"] == "incremental" and s["delay_s"] == 0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    final = status(home, "fg")
    assert final["state"] == "Stopped" and final["pid"] is None


def test_verify_exit_codes_json_contract_and_repair(home: Path, tmp_path: Path) -> None:
    src = make_db(tmp_path / "a.db", SHOP)
    dst = make_db(tmp_path / "b.db", SHOP + "UPDATE item SET name = 'plum' WHERE id = 2;"
                                           "INSERT INTO item VALUES (3, 'fig');")
    urls = ["--source", f"sqlite:///{src}", "--dest", f"sqlite:///{dst}"]
    found = turnout(home, "verify", *urls, "--json")
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    assert report["consistent"] is False
    item = report["tables"][0]
    assert {k: item[k] for k in ("source", "dest", "rows_source", "rows_dest", "missing",
                                 "extra", "different")} == {
        "source": "item", "dest": "item", "rows_source": 2, "rows_dest": 3, "missing": [],
        "extra": [[3]], "different": [[2]]}

    script = tmp_path / "fix.sql"
    fixed = turnout(home, "verify", *urls, "--repair", "dest", "--repair-file", str(script),
                    "--apply")
    assert fixed.returncode == 1 and "2 rows" in fixed.stdout, fixed.stdout
    assert "DELETE FROM \"item\"" in script.read_text()
    clean = turnout(home, "verify", *urls)
    assert clean.returncode == 0 and "consistent" in clean.stdout, clean.stdout

    for bad in (["verify"], ["verify", "nosuchtask"], ["verify", *urls, "--apply"]):
        result = turnout(home, *bad)
        assert result.returncode == 2, (bad, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, bad


def test_on_truncate_flag_is_kept_with_the_task(home: Path, tmp_path: Path) -> None:
    from turnout.store import Store

    src = make_db(tmp_path / "src.db", SHOP)
    created = turnout(home, "task", "create", "t", "--source", f"sqlite:///{src}", "--dest",
                      f"sqlite:///{tmp_path / 'dst.db'}", "--on-truncate", "stop",
                      "--on-drop", "apply")
    assert created.returncode == 0, created.stderr
    assert Store(home).get("t").spec.options.on_truncate == "stop"
    assert Store(home).get("t").spec.options.on_drop == "apply"
