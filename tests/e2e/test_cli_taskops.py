"""`turnout task precheck | pause | resume`, `status --watch` and `run` on a running task, as a
user runs them: exit codes, JSON, messages."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import make_db
from tests.e2e.test_cli import SHOP, status, turnout, wait


def test_precheck_exit_codes_0_clean_1_problems_2_bad_input(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    created = turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}",
                      "--dest", f"sqlite:///{dst}", "--tables", "item")
    assert created.returncode == 0, created.stderr

    clean = turnout(home, "task", "precheck", "shop", "--json")
    assert clean.returncode == 0, clean.stderr
    report = json.loads(clean.stdout)  # the contract only ever gains keys (switchover)
    assert {k: report[k] for k in ("ok", "problems", "tables")} == {
        "ok": True, "problems": [], "tables": [{"source": "item", "dest": "item"}]}
    human = turnout(home, "task", "precheck", "shop")
    assert human.returncode == 0 and "ready" in human.stdout and "item" in human.stdout

    db = sqlite3.connect(src)
    db.execute("DROP TABLE item")  # the task selects a table no longer there
    db.close()
    broken = turnout(home, "task", "precheck", "shop", "--json")
    assert broken.returncode == 1, broken.stderr
    report = json.loads(broken.stdout)
    assert list(report)[:3] == ["ok", "problems", "tables"]
    assert report["ok"] is False and report["problems"] and report["tables"] == []
    human = turnout(home, "task", "precheck", "shop")
    assert human.returncode == 1 and "cannot start" in human.stdout

    unknown = turnout(home, "task", "precheck", "nosuch", "--json")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert turnout(home, "task", "precheck").returncode == 2  # NAME missing


def test_pause_and_resume_from_the_command_line(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}",
            "--dest", f"sqlite:///{dst}")
    refused = turnout(home, "task", "pause", "shop")
    assert refused.returncode == 2 and "not running" in refused.stderr
    assert turnout(home, "task", "start", "shop").returncode == 0
    wait(home, "shop", lambda s: s["phase"] == "incremental" and s["delay_s"] == 0)

    paused = turnout(home, "task", "pause", "shop")
    assert paused.returncode == 0 and "Paused" in paused.stdout, paused.stderr
    db = sqlite3.connect(src)
    db.execute("INSERT INTO item VALUES (3, 'plum')")
    db.commit()
    db.close()
    resumed = turnout(home, "task", "resume", "shop")
    assert resumed.returncode == 0 and "resumed" in resumed.stdout, resumed.stderr
    wait(home, "shop", lambda s: s["state"] == "Migrating" and s["changes_applied"] >= 1
         and s["delay_s"] == 0)
    assert sqlite3.connect(dst).execute("SELECT name FROM item WHERE id = 3").fetchone() == (
        "plum",)
    again = turnout(home, "task", "resume", "shop")
    assert again.returncode == 2 and "not Paused" in again.stderr
    assert turnout(home, "task", "delete", "shop").returncode == 0


def follower(home: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, TURNOUT_HOME=str(home), COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "turnout", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_watch_and_an_attached_run_follow_a_running_task_until_it_stops(
        home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}",
            "--dest", f"sqlite:///{dst}")
    assert turnout(home, "task", "status", "shop", "--watch", "--json").returncode == 2
    assert turnout(home, "task", "start", "shop").returncode == 0
    worker = wait(home, "shop", lambda s: s["phase"] == "incremental")["pid"]
    listed = turnout(home, "task", "list").stdout  # where each side is, not a cut URL
    assert f"sqlite {tmp_path.name}/src.db" in listed and f"sqlite {tmp_path.name}/dst.db" in listed

    attached = follower(home, "task", "run", "shop")
    watching = follower(home, "task", "status", "shop", "--watch")
    assert attached.stderr is not None
    said = attached.stderr.readline()  # it follows (a loaded box may take seconds to start)
    time.sleep(1.5)
    assert attached.poll() is None and watching.poll() is None  # both follow, neither fails
    attached.send_signal(signal.SIGINT)  # ends the following, not the worker
    out, errors = attached.communicate(timeout=30)
    errors = said + errors
    assert attached.returncode == 0, errors
    assert "already runs" in errors and "following" in errors and "Traceback" not in errors
    assert status(home, "shop")["pid"] == worker and status(home, "shop")["state"] == "Migrating"

    assert turnout(home, "task", "stop", "shop").returncode == 0
    out, errors = watching.communicate(timeout=30)  # the task stopped: the watch ends by itself
    assert watching.returncode == 0, errors
    assert "Incremental Data Migration" in out
    assert turnout(home, "task", "delete", "shop").returncode == 0
