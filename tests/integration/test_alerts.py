"""Alerts reach a webhook: a receiver in the test gets the failure, delay, stray-write and
switchover alerts as JSON POSTs, retried after an error, never with the URL's secrets."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import make_db
from tests.integration.helpers import make_task, running, wait_caught_up
from tests.integration.webhook import Receiver
from turnout import alerts, api
from turnout.alerts import AlertRules, DelayWatch, shown_url
from turnout.errors import BadInput, TurnoutError
from turnout.spec import Options
from turnout.store import Store

# alerts retried at once; `receiver` is the conftest's webhook receiver
pytestmark = pytest.mark.usefixtures("quick_alerts")


def write(src: Path, rows: int) -> None:
    """Rows committed one by one, about 20 a second."""
    db = sqlite3.connect(src)
    for n in range(rows):
        db.execute("INSERT INTO t VALUES (?, 'x')", (n,))
        db.commit()
        time.sleep(0.05)
    db.close()


def test_delay_alert_after_the_delay_lasts(store: Store, tmp_path: Path,
                                           receiver: Receiver) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
    make_task(store, "slow", src, tmp_path / "dst.db",
              alerts=AlertRules(receiver.url, delay_s=1, delay_for_s=1))
    with running(store, "slow"):
        wait_caught_up(store, "slow")
        api.set_options("slow", {"max_rows_per_second": "5"}, store)
        writer = threading.Thread(target=write, args=(src, 150))  # faster than 5 rows/s
        writer.start()
        alert = receiver.wait(alerts.DELAY)
        writer.join()
        assert alert["task"] == "slow" and alert["delay_s"] > 1 and alert["threshold_s"] == 1
        api.set_options("slow", {"max_rows_per_second": "0"}, store)
        wait_caught_up(store, "slow")
    assert receiver.kinds().count(alerts.DELAY) == 1  # once per spell above the threshold
    api.delete_task("slow", store=store)


def test_failure_alert_is_retried_and_keeps_the_url_secret(store: Store, tmp_path: Path,
                                                            receiver: Receiver) -> None:
    receiver.fail_first = 2  # two 500s, then taken
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    make_task(store, "broken", src, tmp_path / "dst.db", alerts=AlertRules(receiver.url))
    src.unlink()  # the worker cannot open its source: the task fails
    assert api.run_task("broken", store=store) == "Failed"
    alert = receiver.wait(alerts.TASK_FAILED)
    assert alert["task"] == "broken" and "does not exist" in alert["error"]
    assert receiver.kinds() == [alerts.TASK_FAILED]
    assert receiver.auth == "Basic aG9vazpzM2NyM3Q="  # hook:s3cr3t, sent as basic auth
    with pytest.raises(TurnoutError):
        api.switchover("broken", store)
    failed = receiver.wait(alerts.SWITCHOVER_FAILED)
    assert failed["step"] == "checked" and "Failed" in failed["error"]
    text = json.dumps([e.message for e in store.events("broken")]) + json.dumps(
        api.task_status("broken", store))
    assert "s3cr3t" not in text and "T0K3N" not in text
    saved = b"".join(p.read_bytes() for p in store.home.glob("turnout.db*"))  # and WAL
    assert b"sqlite:///" in saved  # what is looked through holds the tasks
    assert b"T0K3N" not in saved and b"s3cr3t" not in saved
    api.delete_task("broken", store=store, force=True)


def test_an_undeliverable_alert_is_said_without_secrets(store: Store, tmp_path: Path) -> None:
    dead = Receiver()
    dead.server.shutdown()
    dead.server.server_close()  # nobody listens there now
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    make_task(store, "lost", src, tmp_path / "dst.db", alerts=AlertRules(dead.url),
              options=Options())
    src.unlink()
    started = time.time()
    assert api.run_task("lost", store=store) == "Failed"
    assert time.time() - started < 20  # retries are bounded
    said = [e.message for e in store.events("lost") if "not delivered" in e.message]
    assert said and "http://127.0.0.1:" in said[0]
    assert "s3cr3t" not in said[0] and "T0K3N" not in said[0] and "k=s3" not in said[0]
    api.delete_task("lost", store=store, force=True)


def test_rules_and_the_delay_watch() -> None:
    with pytest.raises(BadInput, match="not an http"):
        AlertRules("ftp://user:pw@host/x")
    assert shown_url("https://u:p@hooks.example.com:8443/a/b?t=1") == "https://hooks.example.com:8443/…"
    watch = DelayWatch(AlertRules("http://h/", delay_s=5, delay_for_s=60))
    assert not watch.due(10, 0) and not watch.due(10, 59) and watch.due(10, 60)
    assert not watch.due(10, 200)  # once per spell
    assert not watch.due(1, 201) and not watch.due(10, 202) and watch.due(10, 262)
    assert not DelayWatch(AlertRules("http://h/")).due(1e6, 1e6)  # no threshold, no alert
