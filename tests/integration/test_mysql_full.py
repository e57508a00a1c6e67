"""The MySQL full step: key ranges, parallel readers and LOAD DATA, against a private MariaDB.

Tables cut into ranges and copied by several workers arrive identical,
values that LOAD DATA's text must escape included; a worker reads the very
snapshot's rows, or through the snapshot itself when the source committed in
between; a load the server would only warn about fails loudly instead; a
table whose loads take turns on its AUTO-INC lock loads through a stage
(staging.py), and a failed chunk leaves nothing behind in it.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from tests.integration.test_mysql import _connect, my_execute
from turnout import engines
from turnout.engines.base import Engine
from turnout.engines.mysql import bulk, staging
from turnout.migrate import full, schema
from turnout.migrate.plan import TablePlan, build_plan
from turnout.migrate.progress import NoProgress
from turnout.model import Checkpoint
from turnout.spec import TaskSpec, parse_types
from turnout.verify.digest import table_digest

OWNER = "myfull"

TABLES = r"""
CREATE TABLE big (id int AUTO_INCREMENT PRIMARY KEY, note text, price decimal(10, 2),
                  seen datetime(6), at timestamp(3) NULL, small char(4), kind enum('a', 'b\tc'));
INSERT INTO big SELECT seq, CASE WHEN seq % 7 = 0 THEN NULL WHEN seq % 11 = 0 THEN 'None'
                                 WHEN seq % 13 = 0 THEN '\\N' ELSE
                                 concat('row ', seq, '\ttab\nline\\slash é') END,
                       seq / 100, '2024-01-01 10:00:00.5',
                       IF(seq % 5 = 0, NULL, '2030-06-01 12:00:00.25'),
                       IF(seq % 2, 'ab', NULL), IF(seq % 3, 'a', 'b\tc')
FROM seq_1_to_12000;
CREATE TABLE plain (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, k int, c char(20), d date);
INSERT INTO plain SELECT seq * 3, seq % 97, concat('c', seq), '2024-02-29' FROM seq_1_to_9000;
CREATE TABLE pair (a int, b varchar(10), qty int, PRIMARY KEY (a, b));
INSERT INTO pair SELECT seq DIV 3, concat('b', seq % 3), seq FROM seq_1_to_6000;
CREATE TABLE raw (id int PRIMARY KEY, bytes varbinary(8), bits bit(4));
INSERT INTO raw SELECT seq, IF(seq % 2, X'00ff09', NULL), b'1010' FROM seq_1_to_3000
"""


def plans_for(src: Engine, dst: Engine) -> list[TablePlan]:
    spec = TaskSpec(OWNER, src.endpoint.url, dst.endpoint.url, types=parse_types("schema,full"))
    return build_plan(spec, src, dst, first_run=True)


def copy(src: Engine, dst: Engine, plans: list[TablePlan], **options: object) -> bool:
    schema.create_tables(dst, plans, NoProgress())
    return full.copy_tables(src, dst, plans, OWNER, 1000, NoProgress(), threading.Event(),
                            **options)  # type: ignore[arg-type]


def spans_saved(dst: Engine, table: str) -> list[dict]:
    saved = dst.read_checkpoint(OWNER)
    return [json.loads(v) for k, v in sorted(saved.items()) if k.endswith(f":{table}")]


@pytest.mark.parametrize("replayed", [False, True], ids=["one-view", "later-views"])
def test_ranges_copy_identically_with_parallel_workers(mysql_url: str, replayed: bool) -> None:
    my_execute(mysql_url, TABLES)
    src = engines.connect(mysql_url)
    dst = engines.connect(f"{mysql_url}_{int(replayed)}", create=True)
    try:
        plans = plans_for(src, dst)
        assert copy(src, dst, plans, parallel=3, replayed=replayed)
        for plan in plans:
            assert table_digest(src, plan.source) == table_digest(dst, plan.dest), plan.source.name
        big, pair, raw = (spans_saved(dst, name) for name in ("big", "pair", "raw"))
        assert len(big) > 5 and len(pair) > 3, (len(big), len(pair))
        assert all(len(json.loads(s["hi"])) == 1 for s in pair if s["hi"])  # cut on `a` only
        assert sum(s["rows"] for s in big) == 12000 and all(s["done"] for s in big + pair)
        assert sum(s["rows"] for s in raw) == 3000
    finally:
        src.close()
        dst.close()


def test_a_worker_reads_the_same_view_or_through_the_snapshot(mysql_url: str) -> None:
    my_execute(mysql_url, "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1)")
    engine = engines.connect(mysql_url)
    table = engine.reflect(["t"])[0]
    try:
        with engine.snapshot() as snap:
            share = snap.share()
            assert share is not None
            with share as reader:  # nothing committed since: a connection of its own
                assert reader is not snap and reader.read_chunk(table, None, 10) == [(1,)]
            my_execute(mysql_url, "INSERT INTO t VALUES (2)")
            share = snap.share()
            assert share is not None
            with share as reader:  # the source moved on: read through the snapshot itself
                assert reader is snap and reader.read_chunk(table, None, 10) == [(1,)]
            later = snap.later()
            assert later is not None
            with later as reader:  # a later view, for a step whose changes are replayed
                assert reader.read_chunk(table, None, 10) == [(1,), (2,)]
    finally:
        engine.close()


def test_a_load_the_server_only_warns_about_fails_and_saves_nothing(mysql_url: str) -> None:
    my_execute(mysql_url, "CREATE TABLE t (id int PRIMARY KEY, small tinyint, note text)")
    engine = engines.connect(mysql_url)
    table = engine.reflect(["t"])[0]
    try:
        assert bulk.tsv(table, [(1, 5, "x")]) is not None  # this table goes by LOAD DATA
        with pytest.raises(Exception, match="[Oo]ut of range"):
            engine.load(table, [(1, 5, "a\tb"), (2, 1000, None)],
                        Checkpoint(OWNER, {"full:t": "{}"}))
        assert engine.all("SELECT count(*) FROM t") == [(0,)]
        assert engine.read_checkpoint(OWNER) == {}
        engine.load(table, [(1, 5, "a\tb\\"), (2, None, "None"), (3, 0, "\\N")],
                    Checkpoint(OWNER, {"full:t": "{}"}))
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT id, small, note FROM t ORDER BY id")
            assert cur.fetchall() == ((1, 5, "a\tb\\"), (2, None, "None"), (3, 0, "\\N"))
    finally:
        engine.close()


def test_loaded_text_arrives_in_each_column_character_set(mysql_url: str) -> None:
    my_execute(mysql_url, "CREATE TABLE l (id int PRIMARY KEY, name varchar(10)) "
               "CHARACTER SET latin1;\n"
               "CREATE TABLE u (id int PRIMARY KEY, name varchar(10)) CHARACTER SET utf8mb4")
    engine = engines.connect(mysql_url)
    try:
        for name, text in (("l", "café"), ("u", "café 🚂")):
            table = engine.reflect([name])[0]
            engine.load(table, [(1, text)], Checkpoint(OWNER, {f"full:{name}": "{}"}))
            with _connect(mysql_url) as conn, conn.cursor() as cur:
                cur.execute(f"SELECT name, length(name) FROM {name}")
                assert cur.fetchone() == (text, len(text.encode("latin1" if name == "l"
                                                                 else "utf-8")))
    finally:
        engine.close()


def test_a_server_refusing_local_files_gets_inserts(
    mariadb_server, mysql_url: str
) -> None:  # type: ignore[no-untyped-def]
    my_execute(mysql_url, "CREATE TABLE t (id int PRIMARY KEY, note text)")
    engine = engines.connect(mysql_url)
    mariadb_server.sql("SET GLOBAL local_infile = 0")  # MySQL 8's default
    try:
        table = engine.reflect(["t"])[0]
        for start in (1, 3):
            rows = [(start, "a\tb"), (start + 1, None)]
            engine.load(table, rows, Checkpoint(OWNER, {"full:t": str(start)}))
        assert engine.all("SELECT id, note FROM t ORDER BY id") == [
            (1, "a\tb"), (2, None), (3, "a\tb"), (4, None)]
        assert engine.read_checkpoint(OWNER) == {"full:t": "3"}
    finally:
        mariadb_server.sql("SET GLOBAL local_infile = 1")
        engine.close()


def test_loads_that_would_take_turns_go_through_a_stage_and_leave_nothing_there(
    mysql_url: str,
) -> None:
    my_execute(mysql_url, "CREATE TABLE a (id int AUTO_INCREMENT PRIMARY KEY, small tinyint, "
               "note text);\nCREATE TABLE n (id int PRIMARY KEY, note text)")
    engine = engines.connect(mysql_url)
    try:
        a, n = engine.reflect(["a", "n"])
        with engine.fast_connect() as conn, conn.cursor() as cur:
            assert staging.takes_turns(cur, a)  # MariaDB's default innodb_autoinc_lock_mode=1
            assert not staging.takes_turns(cur, n)  # no AUTO_INCREMENT: loads run side by side
        with pytest.raises(Exception, match="[Oo]ut of range"):  # warned in the stage: fails
            engine.load(a, [(1, 5, "x"), (2, 1000, "y")], Checkpoint(OWNER, {"full:a": "1"}))
        assert engine._loader is not None and engine._loader._stages["a"] is not None
        engine.load(a, [(3, 7, "a\tb\\"), (4, None, None)], Checkpoint(OWNER, {"full:a": "2"}))
        engine.load(a, [(0, 1, "zero stays zero")], Checkpoint(OWNER, {"full:a": "3"}))
        engine.load(n, [(1, "direct")], Checkpoint(OWNER, {"full:n": "1"}))
        assert engine._loader._stages["n"] is None
        assert engine.all("SELECT id, small, note FROM a ORDER BY id") == [
            (0, 1, "zero stays zero"), (3, 7, "a\tb\\"), (4, None, None)]
        assert engine.read_checkpoint(OWNER) == {"full:a": "3", "full:n": "1"}
    finally:
        engine.close()


def test_an_account_that_cannot_make_a_stage_loads_directly(
    mariadb_server, mysql_url: str
) -> None:  # type: ignore[no-untyped-def]
    my_execute(mysql_url, "CREATE TABLE a (id int AUTO_INCREMENT PRIMARY KEY, note text)")
    database = mysql_url.rsplit("/", 1)[1]
    mariadb_server.sql("CREATE USER nostage@'%' IDENTIFIED BY 'pw';\n"
                       "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX "
                       f"ON `{database}`.* TO nostage@'%'")
    url = mysql_url.replace("root@", "nostage:pw@")
    engine = engines.connect(url)
    try:
        table = engine.reflect(["a"])[0]
        engine.load(table, [(1, "a"), (2, None)], Checkpoint(OWNER, {"full:a": "1"}))
        assert engine._loader is not None and engine._loader._stages["a"] is None
        assert engine.all("SELECT id, note FROM a ORDER BY id") == [(1, "a"), (2, None)]
    finally:
        engine.close()
        mariadb_server.sql("DROP USER nostage@'%'")


def test_foreign_keys_are_added_without_a_check_of_every_row(mysql_url: str) -> None:
    """In place from the catalog, not by copying the table; so a child whose parent the
    replay has yet to bring does not stop it either."""
    my_execute(mysql_url, "CREATE TABLE p (id int PRIMARY KEY);\n"
               "CREATE TABLE c (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES p (id))")
    src = engines.connect(mysql_url)
    dst = engines.connect(f"{mysql_url}_fk", create=True)
    try:
        parent, child = src.reflect(["p", "c"])
        for table in (parent, child):
            dst.create_table(table)
        my_execute(f"{mysql_url}_fk",
                   "INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1), (2, 9)")  # 9: orphan
        dst.create_foreign_keys(child)
        assert dst.all("SELECT count(*) FROM information_schema.referential_constraints "
                       "WHERE constraint_schema = DATABASE() AND table_name = 'c'") == [(1,)]
        assert dst.one("SELECT @@foreign_key_checks") == 1  # the session checks again
        dst.create_foreign_keys(child)  # idempotent
    finally:
        src.close()
        dst.close()


def test_rows_print_plainly_only_when_nothing_needs_escaping() -> None:
    assert bulk._formatted([(1, "a", Decimal("1.50"))], 3) == "1\ta\t1.50\n"
    for row in [(1, "a\tb", 1), (1, "a\nb", 1), (1, "a\\", 1), (1, None, 1)]:
        assert bulk._formatted([row], 3) is None, row
