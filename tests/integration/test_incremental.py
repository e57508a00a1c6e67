"""The incremental step over engine pairs: every kind of change a source logs arrives at the
destination whole and in order.

The shop story (tests/integration/shop.py) runs from each source's capture (SQLite triggers,
PostgreSQL logical decoding, the MySQL binlog) into each destination's apply; MySQL's every
type follows its changes through the binlog into MySQL and into PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.conftest import all_rows
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.pairs import kind, over
from tests.integration.shop import AFTER, BIG, build_shop, doc, items, write_shop_changes
from tests.integration.test_mysql import _WRITES, TYPES, my_execute, my_rows
from turnout import api
from turnout.spec import Options, TaskSpec
from turnout.store import Store


@over(("sqlite", "sqlite"), ("postgresql", "postgresql"), ("postgresql", "sqlite"),
      ("postgresql", "mysql"), ("mysql", "sqlite"))
def test_changes_of_every_kind_arrive_whole_and_in_order(
        store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    build_shop(source)
    api.create_task(TaskSpec("shop", source, dest), store)
    with running(store, "shop"):
        wait_caught_up(store, "shop")
        write_shop_changes(source)
        wait_caught_up(store, "shop")
    assert api.task_status("shop", store)["state"] == "Stopped"
    same_rows(source, dest, ["item", "line"])
    assert items(dest) == items(source) == AFTER
    assert doc(dest, 4) == BIG  # the TOASTed value survived the update that left it alone
    if kind(source) == kind(dest) == "sqlite":  # every column, as SQLite stores it
        assert all_rows(Path(dest.removeprefix("sqlite:///"))) == all_rows(
            Path(source.removeprefix("sqlite:///")))
    api.delete_task("shop", store)
    if kind(source) == "postgresql":  # the slot and publication go with the task
        with psycopg.connect(source) as conn:
            assert conn.execute("SELECT count(*) FROM pg_replication_slots "
                                "WHERE database = current_database()").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM pg_publication").fetchone() == (0,)


@over(("mysql", "mysql"), ("mysql", "postgresql"))
def test_every_mysql_type_follows_its_changes_through_the_binlog(
        store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    my_execute(source, TYPES)
    api.create_task(TaskSpec("types", source, dest, options=Options(batch_changes=50)), store)
    with running(store, "types"):
        wait_caught_up(store, "types")
        my_execute(source, _WRITES)  # its 2,000-row insert goes in pieces (big transaction)
        wait_caught_up(store, "types")
    same_rows(source, dest, ["everything", "child"])
    if kind(dest) == "mysql":  # as the driver reads them, to the byte
        assert my_rows(dest, "everything") == my_rows(source, "everything")
        assert my_rows(dest, "child") == my_rows(source, "child")
    assert api.task_status("types", store)["changes_applied"] >= 2000
