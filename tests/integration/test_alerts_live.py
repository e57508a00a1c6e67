"""Alerts from real workers: a stray write on a PostgreSQL destination, a webhook set while
the task runs, and a worker killed with -9, which cannot send its own failure alert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import make_db
from tests.integration.agents import AgentProcess, until, wait_agents
from tests.integration.helpers import execute, insert_sql, running, wait_caught_up
from tests.integration.webhook import Receiver
from turnout import alerts, api
from turnout.alerts import AlertRules
from turnout.spec import Options, TaskSpec
from turnout.store import Store
from turnout.testing.servers import PgServer

# alerts retried at once; `receiver` is the conftest's webhook receiver
pytestmark = pytest.mark.usefixtures("quick_alerts")


def test_a_stray_write_on_a_postgresql_destination_alerts(
        store: Store, pg_server: PgServer, receiver: Receiver) -> None:
    """PG → PG with the stray-row watch on and no webhook at first: the webhook is set while
    the task runs (as the console's task page does), then a row is changed on the
    destination behind turnout's back; the watch finds it and the alert goes out once."""
    source = pg_server.create_database(f"stray_src_{uuid.uuid4().hex[:8]}")
    dest = pg_server.create_database(f"stray_dst_{uuid.uuid4().hex[:8]}")
    execute(source, "CREATE TABLE acct (id int PRIMARY KEY, balance int)",
            insert_sql(source, "acct", [(i, i) for i in range(1, 201)]))
    api.create_task(TaskSpec("strays", source, dest, options=Options(stray_check_s=0.5)),
                    store)
    with running(store, "strays"):
        wait_caught_up(store, "strays", timeout=60)
        api.set_options("strays", {"alerts.webhook": receiver.url}, store)
        assert api.settings("strays", store)["alerts"]["webhook"].startswith("http://127.0.0.1")
        time.sleep(1.5)  # the alert watch reads the new webhook within a second
        execute(dest, "UPDATE acct SET balance = -1 WHERE id = 7")  # the stray write
        alert = receiver.wait(alerts.STRAY_WRITES, timeout=60)
        assert alert["task"] == "strays" and alert["rows"] == 1
        assert "written there by someone else" in alert["message"]
    assert receiver.kinds() == [alerts.STRAY_WRITES]
    api.delete_task("strays", store=store)


def test_a_worker_killed_with_9_alerts_once(store: Store, home: Path, tmp_path: Path,
                                            receiver: Receiver) -> None:
    """The detached worker dies by SIGKILL: a `turnout serve`-style sweep, two direct looks
    at once and `turnout task status` all notice, and exactly one failure alert goes out;
    the task shows Failed with the way back, and `task start` resumes it."""
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                  "INSERT INTO t VALUES (1, 'a'), (2, 'b');")
    api.create_task(TaskSpec("killed", f"sqlite:///{src}", f"sqlite:///{tmp_path / 'dst.db'}",
                             alerts=AlertRules(receiver.url)), store)
    pid = api.start_task("killed", store)
    assert pid
    api.wait_for("killed", lambda s: s["phase"] == "incremental", 60, store)
    os.kill(pid, signal.SIGKILL)

    stop = threading.Event()
    sweep = api.DeadWorkerSweep(store, stop, every=0.1)
    sweep.start()
    looks = [threading.Thread(target=api.notice_dead_workers, args=(store.reopen(),))
             for _ in range(2)]
    for look in looks:
        look.start()
    cli = subprocess.run([sys.executable, "-m", "turnout", "task", "status", "killed"],
                         env=dict(os.environ, TURNOUT_HOME=str(home)), capture_output=True,
                         text=True, timeout=60)
    for look in looks:
        look.join(30)
    alert = receiver.wait(alerts.TASK_FAILED)
    time.sleep(1)  # a second alert, if one were coming, would be here by now
    stop.set()
    sweep.join(10)
    assert receiver.kinds() == [alerts.TASK_FAILED]
    assert alert["task"] == "killed" and f"pid {pid}" in alert["error"]
    assert "Failed" in cli.stdout, cli.stdout + cli.stderr
    status = api.task_status("killed", store)
    assert status["state"] == "Failed" and "`turnout task start killed`" in status["error"]
    assert api.start_task("killed", store)
    api.wait_for("killed", lambda s: s["phase"] == "incremental", 60, store)
    api.stop_task("killed", store)
    assert receiver.kinds() == [alerts.TASK_FAILED]
    api.delete_task("killed", store=store)


def test_an_agent_s_worker_killed_with_9_alerts_and_runs_again(
        home: Path, tmp_path: Path, pg_server: PgServer, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a shared PostgreSQL store, an agent runs the task; its worker is killed with -9.
    The agent sends the failure alert once and starts the task again."""
    store_url = pg_server.create_database(f"alerts_store_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("TURNOUT_STORE", store_url)
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                  "INSERT INTO t VALUES (1, 'a');")
    api.create_task(TaskSpec("agented", f"sqlite:///{src}", f"sqlite:///{tmp_path / 'd.db'}",
                             alerts=AlertRules(receiver.url)))
    agent = AgentProcess(home, store_url, "solo")
    try:
        wait_agents(1)
        assert api.start_task("agented") is None  # handed to the agent
        api.wait_for("agented", lambda s: s["phase"] == "incremental" and s["pid"], 60)
        pid = api.task_status("agented")["pid"]
        os.kill(pid, signal.SIGKILL)
        alert = receiver.wait(alerts.TASK_FAILED)
        assert f"pid {pid}" in alert["error"] and "signal 9" in alert["error"]
        again = until(lambda: (s := api.task_status("agented"))["pid"] not in (None, pid)
                      and s["state"] == "Migrating" and s, 60, "the agent runs it again")
        assert again["agent"] == "solo"
        assert receiver.kinds() == [alerts.TASK_FAILED]
    finally:
        agent.stop()
        api.delete_task("agented", force=True)
