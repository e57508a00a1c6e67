"""The JSON that scripts read, pinned byte for byte against golden files in golden/.

Each case runs the real `turnout` command in a process of its own over SQLite files, so what
is compared is exactly what a script sees on stdout: `task create/status/list/precheck --json`,
`verify --json` (task and URL forms), `switchover/rollback/finish --json`, `switchover
--abort --json`, and the switchover checklist (`api.switchover_status`, which the web console
serves). Key order, key names, value types and values must all match.

Normalised before comparing, and only these, because they differ from run to run:
- the test's temporary folder in URLs and paths becomes "<tmp>";
- values that are clocks, durations or process ids (the keys in TIMELY) become "<int>" or
  "<float>", naming the type they had, so their type is still pinned; null stays null.
The raw stdout must also be exactly `json.dumps(value, indent=2)` plus a newline, which pins
the layout (indentation, separators, escaping) too.

To accept a deliberate change of a contract, run with TURNOUT_UPDATE_CONTRACTS=1 and review
the diff of golden/: a change there is a change scripts will notice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import make_db

GOLDEN = Path(__file__).parent / "golden"
TIMELY = {"updated", "seconds", "write_downtime_s", "pid", "lease_expires"}

SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL);
INSERT INTO item VALUES (1, 'apple', 0.5), (2, 'pear', 0.75);
CREATE TABLE tag (item INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (item, tag));
INSERT INTO tag VALUES (1, 'fruit');
"""


def turnout(home: Path, *args: str, code: int = 0) -> str:
    """stdout of `turnout ARGS`, which must exit with `code`."""
    env = dict(os.environ, TURNOUT_HOME=str(home), COLUMNS="200")
    done = subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == code, (args, done.stdout, done.stderr)
    return done.stdout


def normalise(value: Any, tmp: str) -> Any:
    """The value with the run's own folder and its clocks replaced (see the docstring)."""
    if isinstance(value, dict):
        return {k: _timely(v) if k in TIMELY else normalise(v, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, tmp) for v in value]
    if isinstance(value, str):
        return value.replace(tmp, "<tmp>")
    return value


def _timely(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    return f"<{type(value).__name__}>"


def pin(name: str, stdout: str, tmp: Path) -> dict[str, Any] | list[Any]:
    """Compare stdout with golden/NAME.json; the parsed value, for the test to go on with."""
    value = json.loads(stdout)
    assert stdout == json.dumps(value, indent=2) + "\n", f"{name}: layout changed"
    text = json.dumps(normalise(value, str(tmp)), indent=2) + "\n"
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("TURNOUT_UPDATE_CONTRACTS"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden file for {name}: run with TURNOUT_UPDATE_CONTRACTS=1"
    assert text == golden.read_text(), f"the JSON of {name} changed"
    return value  # type: ignore[no-any-return]


def until(home: Path, args: list[str], ok: Callable[[Any], bool], timeout: float = 60) -> str:
    """stdout of the first `turnout ARGS` whose value satisfies `ok`: a running task's delay
    is pinned once it is 0, which a slow box may take a moment to report."""
    deadline = time.time() + timeout
    while True:
        stdout = turnout(home, *args)
        current = json.loads(stdout)
        if ok(current):
            return stdout
        assert time.time() < deadline, f"timed out; last {current}"
        time.sleep(0.2)


def status_when(home: Path, name: str, ok: Callable[[dict[str, Any]], bool]) -> str:
    """stdout of the first `task status NAME --json` whose value satisfies `ok`."""
    return until(home, ["task", "status", name, "--json"], ok)


def caught_up(applied: int) -> Callable[[dict[str, Any]], bool]:
    return lambda s: (s["phase"] == "incremental" and s["delay_s"] == 0
                      and s["changes_applied"] == applied)


def checklist(home: Path) -> str:
    """The switchover checklist as the API returns it, in the CLI's JSON layout."""
    code = ("import json, sys; from turnout import api; "
            "print(json.dumps(api.switchover_status(sys.argv[1]), indent=2))")
    env = dict(os.environ, TURNOUT_HOME=str(home))
    done = subprocess.run([sys.executable, "-c", code, "shop"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_task_verify_and_switchover_contracts(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    urls = ["--source", f"sqlite:///{src}", "--dest", f"sqlite:///{dst}"]
    pin("task_create", turnout(home, "task", "create", "shop", *urls, "--json"), tmp_path)
    turnout(home, "task", "start", "shop")
    status_when(home, "shop", caught_up(0))
    with sqlite3.connect(src) as db:
        db.execute("INSERT INTO item VALUES (3, 'plum', 1.25)")
    db.close()
    pin("task_status_incremental", status_when(home, "shop", caught_up(1)), tmp_path)
    pin("task_list", until(home, ["task", "list", "--json"], lambda tasks: all(
        caught_up(1)(t) for t in tasks)), tmp_path)
    pin("verify_task", turnout(home, "verify", "shop", "--json"), tmp_path)
    pin("switchover_status_idle", checklist(home), tmp_path)

    pin("switchover", turnout(home, "switchover", "shop", "--json"), tmp_path)
    pin("switchover_status_switched", checklist(home), tmp_path)
    pin("task_status_stopped", turnout(home, "task", "status", "shop", "--json"), tmp_path)
    status_when(home, "shop-reverse", caught_up(0))
    pin("rollback", turnout(home, "rollback", "shop", "--json"), tmp_path)
    status_when(home, "shop", lambda s: s["phase"] == "incremental" and s["delay_s"] == 0)
    turnout(home, "switchover", "shop", "--json")
    pin("finish", turnout(home, "finish", "shop", "--json"), tmp_path)


def test_abort_completed_and_differences_contracts(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    urls = ["--source", f"sqlite:///{src}", "--dest", f"sqlite:///{dst}"]
    turnout(home, "task", "create", "shop", *urls)
    turnout(home, "task", "start", "shop")
    status_when(home, "shop", caught_up(0))
    turnout(home, "switchover", "shop", "--on-switch", "exit 3", "--json", code=1)
    pin("switchover_status_unmoved", checklist(home), tmp_path)
    pin("switchover_abort", turnout(home, "switchover", "shop", "--abort", "--json"), tmp_path)
    turnout(home, "task", "stop", "shop")
    turnout(home, "task", "delete", "shop")

    once = tmp_path / "once.db"
    turnout(home, "task", "create", "once", "--source", f"sqlite:///{src}", "--dest",
            f"sqlite:///{once}", "--types", "schema,full", "--tables", "item")
    turnout(home, "task", "run", "once")
    pin("task_status_completed", turnout(home, "task", "status", "once", "--json"), tmp_path)

    with sqlite3.connect(once) as db:
        db.execute("UPDATE item SET name = 'quince' WHERE id = 2")
        db.execute("DELETE FROM item WHERE id = 1")
        db.execute("INSERT INTO item VALUES (9, 'fig', NULL), (10, 'lime', 2)")
    db.close()
    differ = ["--source", f"sqlite:///{src}", "--dest", f"sqlite:///{once}"]
    pin("verify_urls_differ",
        turnout(home, "verify", *differ, "--tables", "item", "--json", code=1), tmp_path)
    pin("verify_urls_count",
        turnout(home, "verify", *differ, "--tables", "item", "--level", "count", "--json",
                code=1), tmp_path)


def test_precheck_contract(home: Path, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}", "--dest",
            f"sqlite:///{dst}", "--rename", "tag=label")
    pin("task_precheck", turnout(home, "task", "precheck", "shop", "--json"), tmp_path)
