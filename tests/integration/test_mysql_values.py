"""MySQL / MariaDB values arrive exactly on the full copy and through the binlog alike.

Each value goes in twice: once before the task starts (the full step reads it
with a query) and once while it runs (the incremental step reads it from the
binlog), under keys 1xx and 2xx. The destination's rows are read back with the
destination's own SQL, not through turnout. Edge values partly come from
Debezium's MySQL connector fixtures (BINARY(16) from unhex'ed UUIDs ending in
zero bytes, an unhex(00), JSON scalars and null).
"""

from __future__ import annotations

import json
import struct
from typing import Any

import psycopg
import pytest

from tests.integration.helpers import running, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute
from turnout import api
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store

TABLE = """CREATE TABLE v (
    id int PRIMARY KEY, b binary(16), bits bit(64), u uuid, i4 inet4, i6 inet6, j json,
    f float, g varchar(20) CHARACTER SET gbk
)"""
FLT_MAX = "3.4028234663852886e38"
ROWS = [  # (id, b, bits, u, i4, i6, j, f, g) as SQL literals
    (1, "X'00000000000000000000000000000000'", "b'1000000000000000000000000000000000000000000"
     "000000000000000000001'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'0.0.0.0'",
     "'::ffff:1.2.3.4'", "'null'", FLT_MAX, "'中文'"),
    (2, "unhex(replace('651aed08-390f-4893-b2f1-36923e7b7400','-',''))", "b'1'",
     "'00000000-0000-0000-0000-000000000000'", "'255.255.255.255'", "'::'", "'true'",
     f"-{FLT_MAX}", "'ab  '"),
    (3, "unhex(replace('651aed08-390f-4893-b2f1-36923e7b74','-',''))", "18446744073709551615",
     "'6ccd780c-baba-1026-9564-5b8c65602400'", "'10.0.0.1'", "'::1'", "'\"hello\"'",
     "16777216", "''"),
    (4, "unhex(00)", "0", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'1.0.0.0'",
     "'2001:db8::ff00:42:8329'", "'false'", "1.401298464324817e-45", "'表'"),
    (5, "NULL", "NULL", "NULL", "NULL", "'::1.2.3.4'",
     "'{\"a\": [1, null, \"x\\\\u00e9\", 1.25e-5], \"b\": {\"c\": true}, \"d\": \"\"}'",
     "1.1", "NULL"),
    (6, "NULL", "NULL", "NULL", "NULL", "NULL", "'[]'", "NULL", "NULL"),
    (7, "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "0.1", "NULL"),
    (8, "NULL", "NULL", "NULL", "NULL", "NULL", "'-1'", "-0.0", "NULL"),
    (9, "NULL", "NULL", "NULL", "NULL", "NULL", "'\"\\\\ud83d\\\\ude00 \\\\\"q\\\\\"\"'", "NULL",
     "NULL"),
]


def insert(url: str, base: int) -> None:
    values = ", ".join("(" + ", ".join([str(base + r[0]), *r[1:]]) + ")" for r in ROWS)
    my_execute(url, f"INSERT INTO v VALUES {values}")


def source_rows(url: str) -> dict[int, tuple[Any, ...]]:
    """Each row's values in forms both engines can be compared in, read by MySQL itself."""
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, LOWER(HEX(b)), CAST(bits AS UNSIGNED), CAST(u AS CHAR), "
                    "CAST(i4 AS CHAR), CAST(i6 AS CHAR), j, f + 0e0, "
                    "CONVERT(g USING utf8mb4) FROM v")
        return {r[0]: r[1:] for r in cur.fetchall()}


def expected(row: tuple[Any, ...]) -> tuple[Any, ...]:
    b, bits, u, i4, i6, j, f, g = row
    return (b, bits, u, i4, i6, None if j is None else json.loads(j), j is None, f, g)


def float32(value: float | None) -> bytes | None:
    return None if value is None else struct.pack("<f", value)


def pg_rows(url: str) -> dict[int, tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, encode(b, 'hex'), bits, u::text, host(i4), host(i6), j::text, j IS NULL, "
            "f, g FROM v").fetchall()
    return {r[0]: (r[1], None if r[2] is None else int(r[2]), r[3], r[4], r[5],
                   None if r[6] is None else json.loads(r[6]), r[7], r[8], r[9]) for r in rows}


def run_both_paths(store: Store, name: str, source: str, dest: str) -> None:
    """Rows 1xx before the task starts (full step), rows 2xx while it runs (binlog)."""
    insert(source, 100)
    api.create_task(TaskSpec(name, source, dest), store)
    with running(store, name):
        wait_caught_up(store, name)
        insert(source, 200)
        wait_caught_up(store, name)


def test_values_arrive_exactly_in_postgres_on_both_paths(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, TABLE)
    run_both_paths(store, "vpg", mysql_url, pg_url)
    with psycopg.connect(pg_url) as conn:
        types = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'v'").fetchall())
    assert types["u"] == "uuid" and types["i4"] == types["i6"] == "inet"
    assert types["bits"] == "numeric" and types["j"] == "jsonb"
    want = source_rows(mysql_url)
    got = pg_rows(pg_url)
    assert sorted(got) == sorted(want)
    for key, row in want.items():
        exact = expected(row)
        have = got[key]
        assert have[:7] == exact[:7], (key, have, exact)
        assert float32(have[7]) == float32(exact[7]), (key, have[7], exact[7])
        assert have[8] == exact[8], key
    assert got[201][6] is False and got[201][5] is None  # JSON null: not SQL NULL
    assert got[207][6] is True  # SQL NULL stays SQL NULL
    report = api.verify_task("vpg", store)
    assert report["consistent"], report
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE v SET j = NULL WHERE id IN (101, 201)")
    report = api.verify_task("vpg", store)
    differing = next(t for t in report["tables"] if t["source"] == "v")["different"]
    assert sorted(differing) == [[101], [201]]  # JSON null against SQL NULL is a difference


def test_values_arrive_exactly_in_mysql_on_both_paths(store: Store, mysql_url: str) -> None:
    my_execute(mysql_url, TABLE)
    dest = mysql_url + "_dest"
    run_both_paths(store, "vmy", mysql_url, dest)
    exact = "SELECT id, HEX(b), HEX(bits), HEX(u), HEX(i4), HEX(i6), j, HEX(f + 0e0), HEX(g) FROM v"
    with _connect(mysql_url) as src, src.cursor() as cur:
        cur.execute(exact)
        want = {r[0]: r[1:] for r in cur.fetchall()}
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute(exact)
        got = {r[0]: r[1:] for r in cur.fetchall()}
        cur.execute("SELECT character_set_name FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = 'v' AND column_name = 'g'")
        assert cur.fetchone()[0] == "gbk"
    assert got == want  # the very bytes: JSON text, FLOAT bits, gbk text
    assert got[101][5] == "null" and got[102][5] == "true" and got[203][5] == '"hello"'
    report = api.verify_task("vmy", store)
    assert report["consistent"], report


@pytest.mark.parametrize("path", ["full", "binlog"])
def test_a_zero_timestamp_is_refused_or_read_as_null_on_both_paths(
    store: Store, pg_url: str, mysql_url: str, path: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE z (id int PRIMARY KEY, ts timestamp NULL, "
               "ts6 timestamp(6) NULL);\n"
               "INSERT INTO z VALUES (1, '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999')")
    zero = ("SET SESSION sql_mode = '';\n"
            "INSERT INTO z VALUES (2, '0000-00-00 00:00:00', '0000-00-00 00:00:00')")
    if path == "full":
        my_execute(mysql_url, zero)
    api.create_task(TaskSpec("z", mysql_url, pg_url), store)
    with running(store, "z", expect=("Failed",)):
        if path == "binlog":
            wait_caught_up(store, "z")
            my_execute(mysql_url, zero)
        with pytest.raises(Exception, match="zero date"):
            wait_caught_up(store, "z", timeout=20)
    error = api.task_status("z", store)["error"]
    assert "z.ts holds a zero date (0000-00-00) (z key 2)" in error, error
    assert "zero_dates=null" in error
    lenient = pg_url + "_null"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{lenient.rsplit("/", 1)[1]}"')
    api.create_task(TaskSpec("zn", mysql_url + "?zero_dates=null", lenient,
                             types=parse_types("schema,full,incremental")), store)
    with running(store, "zn"):
        wait_caught_up(store, "zn")
        my_execute(mysql_url, zero.replace("(2,", "(3,"))
        wait_caught_up(store, "zn")
    with psycopg.connect(lenient) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        rows = conn.execute("SELECT id, ts::text, ts6::text FROM z ORDER BY id").fetchall()
    assert rows == [(1, "1970-01-01 00:00:01+00", "2038-01-19 03:14:07.999999+00"),
                    (2, None, None), (3, None, None)]


def test_values_written_in_postgres_go_back_into_mariadbs_own_types(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    """What a reverse task does after switchover: PostgreSQL's uuid, inet, jsonb, real, bytea
    and numeric(20) values, changed on the new side, go back into MariaDB's uuid, inet4/6,
    json, float, binary(16) and bit(64) columns as the very values the source held."""
    my_execute(mysql_url, TABLE)
    insert(mysql_url, 100)
    api.create_task(TaskSpec("fwd", mysql_url, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("fwd", store=store) == "Completed", api.task_status("fwd", store)
    exact = ("SELECT id % 100, HEX(b), HEX(bits), HEX(u), HEX(i4), HEX(i6), j, HEX(f + 0e0), "
             "HEX(g) FROM v WHERE id {} ORDER BY id")

    def read(where: str) -> list[list[Any]]:
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            cur.execute(exact.format(where))
            rows = [list(r) for r in cur.fetchall()]
        for row in rows:  # JSON by value: PostgreSQL's jsonb spaces the text its own way
            row[6] = None if row[6] is None else json.dumps(json.loads(row[6]), sort_keys=True)
        return rows

    before = read("BETWEEN 100 AND 199")
    api.create_task(TaskSpec("back", pg_url, mysql_url, types=parse_types("incremental")),
                    store)
    with running(store, "back"):
        wait_caught_up(store, "back")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO v SELECT id + 200, b, bits, u, i4, i6, j, f, g FROM v")
            conn.execute("UPDATE v SET j = 'null'::jsonb WHERE id = 102")
        wait_caught_up(store, "back")
    assert read(">= 300") == before
    assert read("= 102")[0][6] == "null"  # JSON null, not SQL NULL


def test_a_postgresql_uuid_becomes_mariadbs_own_uuid(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE ids (id uuid PRIMARY KEY, other uuid, doc jsonb);"
                     "INSERT INTO ids VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
                     "'00000000-0000-0000-0000-000000000000', 'null'), "
                     "('ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, '\"s\"')")
    dest = mysql_url + "_uuid"
    api.create_task(TaskSpec("pgu", pg_url, dest), store)
    with running(store, "pgu"):
        wait_caught_up(store, "pgu")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO ids VALUES ('6ccd780c-baba-1026-9564-5b8c65602400', "
                         "gen_random_uuid(), 'true')")
        wait_caught_up(store, "pgu")
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute("SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = 'ids'")
        assert dict(cur.fetchall())["id"] == "uuid"
        cur.execute("SELECT CAST(id AS CHAR), doc FROM ids ORDER BY 1")
        rows = cur.fetchall()
    assert rows == (("6ccd780c-baba-1026-9564-5b8c65602400", "true"),
                    ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "null"),
                    ("ffffffff-ffff-ffff-ffff-ffffffffffff", '"s"'))
    assert api.verify_task("pgu", store)["consistent"]


def test_debeziums_float_columns_arrive_exactly(store: Store, pg_url: str, mysql_url: str) -> None:
    """Debezium's FLOAT fixture (DBZ-3865): float, float(M,D) and float(p) columns."""
    my_execute(mysql_url, "CREATE TABLE fl (id int PRIMARY KEY, f1 float DEFAULT 5.6, "
               "f2 float(10,2), f3 float(35,5), f4_23 float(23), f4_24 float(24), "
               "f4_25 float(25))")
    row = "(5.6, 5.61, 30.123456, 64.1, 64.1, 64.1)"
    my_execute(mysql_url, f"INSERT INTO fl VALUES (1, {row[1:]}")
    exact = "SELECT id, HEX(f1 + 0e0), HEX(f2 + 0e0), HEX(f3 + 0e0), f4_23 + 0e0, f4_24 + 0e0, " \
            "f4_25 FROM fl ORDER BY id"
    dest = mysql_url + "_fl"
    for name, url in (("flmy", dest), ("flpg", pg_url)):
        api.create_task(TaskSpec(name, mysql_url, url), store)
    with running(store, "flmy"), running(store, "flpg"):
        wait_caught_up(store, "flmy")
        wait_caught_up(store, "flpg")
        my_execute(mysql_url, f"INSERT INTO fl VALUES (2, {row[1:]}")
        wait_caught_up(store, "flmy")
        wait_caught_up(store, "flpg")
    with _connect(mysql_url) as conn, conn.cursor() as cur:
        cur.execute(exact)
        want = cur.fetchall()
        cur.execute("SELECT id, f1 + 0e0, f2 + 0e0, f3 + 0e0, f4_23 + 0e0, f4_24 + 0e0, f4_25 "
                    "FROM fl ORDER BY id")
        values = cur.fetchall()
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute(exact)
        assert cur.fetchall() == want
    with psycopg.connect(pg_url) as conn:
        got = conn.execute("SELECT id, f1, f2, f3, f4_23, f4_24, f4_25 FROM fl "
                           "ORDER BY id").fetchall()
    assert len(got) == 2
    for mine, theirs in zip(values, got, strict=True):
        assert [float32(v) for v in mine[1:6]] == [float32(v) for v in theirs[1:6]]
        assert mine[6] == theirs[6]  # float(25) is a double
