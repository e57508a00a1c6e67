"""`turnout verify` while the application keeps writing through a running task.

Rows in flight (committed on the source, not applied yet) are not differences:
verify waits until the task has applied past them and reads them again. A row
changed on the destination behind the task's back still is one, and the
re-check ends while the writes go on.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.helpers import AppWriter, execute, running, wait_caught_up
from tests.integration.test_mysql import my_execute
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store

ROWS = 2000  # ids 1..ROWS; the writer touches only ids up to HOT and above ROWS
HOT = 1000
UNTOUCHED = 1500  # the row changed on the destination only


class AcctWriter(AppWriter):
    """Updates, inserts and deletes on acct, a transaction of a few statements at a time."""

    max_statements = 5

    def __init__(self, url: str) -> None:
        super().__init__(url, ROWS + 1, seed=18)

    def one(self, cur: Any) -> None:
        roll = self.rng.random()
        if roll < 0.6:
            cur.execute("UPDATE acct SET n = n + 1, note = %s WHERE id = %s",
                        (f"w{self.transactions}", self.rng.randint(1, HOT)))
        elif roll < 0.9:
            cur.execute("INSERT INTO acct (id, n, note) VALUES (%s, 0, 'new')", (self.next_id,))
            self.next_id += 1
        else:
            cur.execute("DELETE FROM acct WHERE id = %s", (self.rng.randint(1, HOT),))


def _source(kind: str, request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue("pg_url" if kind == "postgresql" else "mysql_url")
    ddl = "CREATE TABLE acct (id int PRIMARY KEY, n int NOT NULL, note varchar(40))"
    fill = ("INSERT INTO acct SELECT g, 0, 'old' FROM generate_series(1, 2000) g"
            if kind == "postgresql" else "INSERT INTO acct SELECT seq, 0, 'old' FROM seq_1_to_2000")
    if kind == "postgresql":
        execute(url, ddl, fill)
    else:
        my_execute(url, f"{ddl};\n{fill}")
    return url


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_verify_under_live_writes_reports_only_what_persists(
        store: Store, pg_server: Any, kind: str, request: pytest.FixtureRequest) -> None:
    source = _source(kind, request)
    dest = pg_server.create_database(f"live_{uuid.uuid4().hex[:8]}")
    api.create_task(TaskSpec("live", source, dest), store)
    writer = AcctWriter(source)
    heard: list[str] = []
    with running(store, "live"):
        wait_caught_up(store, "live", timeout=60)
        writer.start()
        try:
            while writer.transactions < 20:
                pass  # the writer is under way
            calm = api.verify_task("live", store, say=heard.append)
            assert calm["consistent"], calm
            execute(dest, f"UPDATE acct SET note = 'changed here' WHERE id = {UNTOUCHED}")
            found = api.verify_task("live", store, recheck=True, say=heard.append)
            again = writer.transactions
        finally:
            writer.halt.set()
            writer.join()
    assert again > 20  # the writes went on through both verifications
    acct = next(t for t in found["tables"] if t["source"] == "acct")
    assert not found["consistent"]
    assert acct["different"] == [[UNTOUCHED]] and acct["different_columns"] == [["note"]]
    assert acct["missing"] == [] and acct["extra"] == []
    assert found["recheck"]["persisting"] >= 1
    assert all("re-checking" in m or "waiting" in m for m in heard)
