"""kill -9 the worker while parallel workers copy key ranges of a PostgreSQL table, under writes.

Each range commits its chunks with its own checkpoint, so after every kill
the restarted task must resume each range where it stopped: no row lost,
none doubled (the destination key is only built after the full step, so a
doubled row would go unnoticed until the comparison at the end).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.integration.helpers import Writer, same_rows, wait_caught_up
from tests.integration.test_crash import kill_worker
from turnout import api, engines
from turnout.migrate import full
from turnout.spec import Options, TaskSpec
from turnout.store import Store

pytestmark = pytest.mark.slow

ROWS = 300_000


class PgBusiness(Writer):
    """Keeps writing to the source: appends, updates, deletes and key moves, in transactions."""

    max_statements = 10

    def __init__(self, url: str) -> None:
        super().__init__(ROWS + 1, seed=17)
        self.url = url

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    @contextmanager
    def transaction(self, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
        with conn.transaction():
            yield conn

    def one(self, conn: psycopg.Connection) -> None:
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
    same_rows(pg_url, dest, ["acct"])
    api.delete_task(name, store)  # frees the slot
