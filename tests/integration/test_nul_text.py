"""Text holding a NUL (0x00), which PostgreSQL's text cannot hold, is named before a task
starts whatever the column's character set, and a row written later stops the task naming
it. Precheck looks for the byte (in every ASCII-compatible character set a 0x00 byte is a
NUL and nothing else) and for the character in the wide ones, where most characters hold a
0x00 byte (ucs2's 'o' is 00 6F): a byte search there would name rows holding no NUL."""

from __future__ import annotations

import time

from tests.integration.helpers import execute, running
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.postgres import PgServer

TABLE = ("CREATE TABLE t (id int PRIMARY KEY, a varchar(20) CHARACTER SET utf8mb4, "
         "b varchar(20) CHARACTER SET latin1, g varchar(20) CHARACTER SET gbk, "
         "w varchar(20) CHARACTER SET ucs2, clean text)")
ROWS = ("INSERT INTO t VALUES (1, 'plain', 'plain', _gbk X'D6D0CEC4', 'wide ok', 'fine'), "
        "(2, CONCAT('a', _utf8mb4 X'00', 'b'), 'y', 'z', 'wide', 'fine'), "
        "(3, 'x', CONCAT(_latin1 'l', _latin1 X'00'), 'z', 'w', 'fine'), "
        "(4, 'x', 'y', CONCAT(_gbk X'D6D0', _gbk X'00'), 'w', 'fine'), "
        "(5, 'x', 'y', 'z', CONCAT(_ucs2 'w', _ucs2 X'0000'), 'fine')")


def test_mysql_text_holding_nul_is_named_at_precheck_in_every_character_set(
        store: Store, mysql_url: str, pg_server: PgServer) -> None:
    execute(mysql_url, TABLE, ROWS)
    dest = pg_server.create_database(f"nul_{time.time_ns()}")
    api.create_task(TaskSpec("nul", mysql_url, dest), store)
    report = api.precheck("nul", store)
    assert not report["ok"], report
    named = sorted(p.split(" holds ")[0] + " " + p.split("(t key ")[1].split(")")[0]
                   for p in report["problems"])
    assert named == ["t.a 2", "t.b 3", "t.g 4", "t.w 5"], report["problems"]
    assert all("text with a NUL character (0x00)" in p for p in report["problems"])
    api.delete_task("nul", store, force=True)


def test_a_nul_written_later_stops_the_task_naming_table_column_and_key(
        store: Store, mysql_url: str, pg_server: PgServer) -> None:
    execute(mysql_url, TABLE, "INSERT INTO t VALUES (1, 'plain', 'plain', 'z', 'wide ok', 'f')")
    dest = pg_server.create_database(f"nul_{time.time_ns()}")
    api.create_task(TaskSpec("later", mysql_url, dest), store)
    assert api.precheck("later", store)["ok"]
    try:
        with running(store, "later", expect=("Failed",)):
            api.wait_caught_up("later", 60, store)
            execute(mysql_url, "INSERT INTO t VALUES (9, 'x', 'y', 'z', "
                               "CONCAT(_ucs2 'w', _ucs2 X'0000'), 'f')")
            failed = api.wait_for("later", lambda s: s["state"] == "Failed", 60, store)
        assert failed["error"].startswith(
            "t.w holds text with a NUL character (0x00) (t key 9)"), failed["error"]
    finally:
        api.delete_task("later", store, force=True)
