"""Text in MySQL's wide character sets (ucs2, utf16, utf16le, utf32) and in latin1 (with the
bytes Windows-1252 leaves undefined) arrives as the same text
through the full copy and through the binlog, by this module's row decoder and by the
library's (a table with a TIME column goes to the library); text in a character set Python
cannot decode is refused at precheck.

Before, a binlog's ucs2 value reached the destination as bytes (Python has no "ucs2" codec,
and the library then hands the bytes over) and utf16/utf32 as mojibake ('wide' read as
'眀椀搀攀': Python reads them without a byte order mark as little-endian, MySQL writes them
big-endian), and a latin1 byte 0x81 stopped the task with an UnicodeDecodeError."""

from __future__ import annotations

import time

import psycopg
import pymysql
import pytest

from tests.integration.helpers import execute, running
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.mariadb import MariaDbServer
from turnout.testing.postgres import PgServer

WIDE = ("u2 varchar(30) CHARACTER SET ucs2", "u16 varchar(30) CHARACTER SET utf16",
        "u16le varchar(30) CHARACTER SET utf16le", "u32 varchar(30) CHARACTER SET utf32",
        "l1 varchar(30) CHARACTER SET latin1")
TEXTS = ["wide", "Ünïcödé ✓ 中文", "\ufeffmark first", "", "😀 outside the BMP"]


def _row(key: int, text: str) -> str:
    wide = text if "😀" not in text else "no astral in ucs2"  # ucs2 has no surrogate pairs
    # MySQL's latin1 holds the five bytes Windows-1252 leaves undefined, as U+0081 …
    latin = "_latin1 X'818D8F909D80E9'" if key % 2 else _lit("plain Ünïcödé")
    return f"({key}, {_lit(wide)}, {_lit(text)}, {_lit(text)}, {_lit(text)}, {latin})"


def _lit(text: str) -> str:
    return "_utf8mb4 X'" + text.encode().hex() + "'"


def _mysql_rows(url: str) -> list[tuple]:
    host, rest = url.removeprefix("mysql://root@").split("/", 1)
    conn = pymysql.connect(host=host.split(":")[0], port=int(host.split(":")[1]), user="root",
                           database=rest, charset="utf8mb4")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT id, u2, u16, u16le, u32, l1 FROM w ORDER BY id")
        return [tuple(r) for r in cur.fetchall()]


def _pg_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT id, u2, u16, u16le, u32, l1 FROM w ORDER BY id").fetchall()]


@pytest.mark.parametrize("extra", ["", ", t time"], ids=["own-decoder", "library-decoder"])
@pytest.mark.parametrize("to", ["postgresql", "mysql"])
def test_wide_character_sets_arrive_as_the_same_text(
        store: Store, mysql_url: str, mariadb_server: MariaDbServer, pg_server: PgServer,
        to: str, extra: str) -> None:
    execute(mysql_url, f"CREATE TABLE w (id int PRIMARY KEY, {', '.join(WIDE)}{extra})",
            f"INSERT INTO w (id, u2, u16, u16le, u32, l1) VALUES {_row(1, TEXTS[0])}")
    if to == "postgresql":
        dest, rows = pg_server.create_database(f"wide_{time.time_ns()}"), _pg_rows
    else:
        dest, rows = mariadb_server.create_database(f"wide_{time.time_ns()}"), _mysql_rows
    api.create_task(TaskSpec("wide", mysql_url, dest), store)
    try:
        with running(store, "wide"):
            api.wait_caught_up("wide", 60, store)
            execute(mysql_url, "INSERT INTO w (id, u2, u16, u16le, u32, l1) VALUES "
                    + ", ".join(_row(k, t) for k, t in enumerate(TEXTS[1:], start=2)),
                    f"UPDATE w SET u2 = {_lit('changed')}, u32 = {_lit('ça change')} "
                    "WHERE id = 1")
            api.wait_caught_up("wide", 60, store)
        expected = _mysql_rows(mysql_url)
        assert expected[1][2] == TEXTS[1] and expected[0][1] == "changed"
        assert expected[2][5] == "\x81\x8d\x8f\x90\x9d€é"
        assert rows(dest) == expected
    finally:
        api.delete_task("wide", store, force=True)


def test_text_in_a_character_set_python_cannot_decode_is_refused_at_precheck(
        store: Store, mysql_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    execute(mysql_url, "CREATE TABLE old (id int PRIMARY KEY, s varchar(10) CHARACTER SET swe7)")
    api.create_task(TaskSpec("old", mysql_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
    report = api.precheck("old", store)
    assert not report["ok"]
    assert any(p.startswith("old.s holds text in character set swe7, which turnout cannot "
                            "decode from the binlog") for p in report["problems"]), report
    api.delete_task("old", store, force=True)
