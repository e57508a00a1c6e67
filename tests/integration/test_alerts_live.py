"""Alerts from real workers: a stray write on a PostgreSQL destination, with a webhook set
while the task runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.helpers import execute, insert_sql, running, wait_caught_up
from tests.integration.webhook import Receiver
from turnout import alerts, api
from turnout.spec import Options, TaskSpec
from turnout.store import Store
from turnout.testing.servers import PgServer


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "FIRST_WAIT_S", 0.05)


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

