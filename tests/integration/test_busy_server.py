"""A task whose source server is written all the time in other databases: its reader is
never idle, so its delay never reads 0, and "caught up" must still be reachable."""

from __future__ import annotations

import time

from tests.integration.ddl import deleting
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_ddl_mysql import ACCT, Writer, _connect, run_sql
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store


def test_caught_up_while_another_database_is_written_all_the_time(
        store: Store, mysql_url: str, pg_url: str) -> None:
    dest = pg_url
    other = f"{mysql_url}_busy"
    with _connect(mysql_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {other.rsplit('/', 1)[1]}")
    run_sql(other, ACCT)
    run_sql(mysql_url, ACCT)
    busy = Writer(other)
    busy.start()
    api.create_task(TaskSpec("busy", mysql_url, dest, tables=("acct",)), store)
    with deleting(store, "busy"), running(store, "busy"):
        wait_caught_up(store, "busy", timeout=60)
        run_sql(mysql_url, ["UPDATE acct SET n = n + 1 WHERE id % 3 = 0"])
        wait_caught_up(store, "busy", timeout=60)
        same_rows(mysql_url, dest, ["acct"])
        time.sleep(0.5)
        assert busy.transactions > 20 and busy.is_alive()
