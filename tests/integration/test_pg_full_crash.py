"""kill -9 the worker while parallel workers copy key ranges of a PostgreSQL table, under writes.

Each range commits its chunks with its own checkpoint, so after every kill
the restarted task must resume each range where it stopped: no row lost,
none doubled (the destination key is only built after the full step, so a
doubled row would go unnoticed until the comparison at the end).
"""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

from tests.integration.helpers import wait_caught_up
from tests.integration.test_crash import kill_worker
from turnout import api, engines
from turnout.migrate import full
from turnout.spec import Options, TaskSpec
from turnout.store import Store
from turnout.verify import table_digest

pytestmark = pytest.mark.slow

ROWS = 300_000


class PgBusiness(threading.Thread):
    """Keeps writing to the source: appends, updates, deletes and key moves, in transactions."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.next_id = url, ROWS + 1
        self.halt = threading.Event()
        self.transactions = 0
        self.rng = random.Random(17)

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.halt.is_set():
                with conn.transaction():
                    for _ in range(self.rng.randint(1, 10)):
                        self._one(conn)
                self.transactions += 1
                time.sleep(0.002)

    def _one(self, conn: psycopg.Connection) -> None:
        r, rid = self.rng.random(), self.rng.randint(1, self.next_id)
        if r < 0.3:
            conn.execute("INSERT INTO acct VALUES (%s, 'new', 0)", (self.next_id,))
            self.next_id += 1
        elif r < 0.7:
            conn.execute("UPDATE acct SET balance = balance + 1 WHERE id = %s", (rid,))
        elif r < 0.85:
            conn.execute("DELETE FROM acct WHERE id = %s", (rid,))
        else:  # the key moves to the far end of the table
            conn.execute("UPDATE acct SET id = %s WHERE id = %s AND NOT EXISTS "
                         "(SELECT 1 FROM acct WHERE id = %s)", (self.next_id, rid, self.next_id))
            self.next_id += 1


@pytest.mark.skipif(full.PARALLEL < 2, reason="one CPU: the full step runs a single worker")
@pytest.mark.parametrize("direct", [True, False], ids=["streamed-copy", "row-path"])
def test_kill_during_parallel_full_copy_resumes_every_range(
    store: Store, pg_server, pg_url: str, direct: bool
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance int)")
        conn.execute(f"INSERT INTO acct SELECT g, 'owner ' || g || repeat('x', g % 40), g % 1000 "
                     f"FROM generate_series(1, {ROWS}) g")
    dest = pg_server.create_database(f"pg_full_crash_{direct}".lower())
    name = f"pgfull-{'direct' if direct else 'rows'}"  # replication slots are server-wide
    api.create_task(TaskSpec(name, pg_url, dest,
                             options=Options(chunk_rows=2000, direct_copy=direct)), store)
    business = PgBusiness(pg_url)
    business.start()
    try:
        for round_ in range(2):  # two kills while ranges are being copied
            api.start_task(name, store)
            api.wait_for(
                name,
                lambda s: s["phase"] == "full" and s["pid"]
                and any(0 < t["rows_copied"] < t["rows_total"] for t in s["tables"]),
                60, store,
            )
            time.sleep(0.1 * round_)
            kill_worker(store, name)
        assert any(k.startswith("full#") for k in engines.connect(dest).read_checkpoint(name))
        api.start_task(name, store)
        api.wait_for(name, lambda s: s["phase"] == "incremental", 120, store)
    finally:
        business.halt.set()
        business.join()
    wait_caught_up(store, name, timeout=120)
    api.stop_task(name, store)
    assert business.transactions > 50
    source, target = engines.connect(pg_url), engines.connect(dest)
    table = source.reflect(["acct"])[0]
    assert table_digest(source, table) == table_digest(target, table)
    api.delete_task(name, store)  # frees the slot
