"""Capture's own row decoding (engines/mysql/rowcodec.py) gives what python-mysql-replication
gives, value for value and type for type, on real binlog events of every type it reads.

Each event is read twice from the same binlog: by turnout's stream (binlog.py, whose
connection reads the frequent events from the packet's bytes, rawevents.py) and by the
library's own stream. The events must come in the same order for the same tables, and
the rows must be equal.

The values are edge values of each type, partly after MySQL's and Debezium's own type tests
(DATE's range ends 1000-01-01 and 9999-12-31, zero and partly zero dates written with an
empty sql_mode, DECIMAL(65,30) at its ends, every fractional-second precision, integers at
both ends signed and unsigned, multi-byte and latin1 text, bytes with zero bytes). The
reasons a value is None (NULL, a zero date) must match too.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from tests.integration.test_mysql import _connect, my_execute
from turnout.endpoint import Endpoint
from turnout.engines.mysql import binlog, rawevents
from turnout.engines.mysql.settings import connection_settings

TYPED = """CREATE TABLE typed (
    id int PRIMARY KEY, ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned,
    mi mediumint, mu mediumint unsigned, i int, iu int unsigned, bi bigint,
    bu bigint unsigned, f float, d double, dec1 decimal(10,0), dec2 decimal(65,30),
    dec3 decimal(5,5), dec4 decimal(19,4), dec5 decimal(12,2) unsigned,
    c char(10), cl char(10) CHARACTER SET latin1, vc varchar(300), vs varchar(20),
    bin binary(4), vb varbinary(10), tx text, mt mediumtext, lb longblob, tb tinyblob,
    dte date, dt0 datetime, dt1 datetime(1), dt3 datetime(3), dt6 datetime(6),
    ts0 timestamp NULL, ts2 timestamp(2) NULL, ts5 timestamp(5) NULL, ts6 timestamp(6) NULL,
    y year, e enum('a', 'b', 'ü'), big enum({labels}),
    u8 varchar(20) CHARACTER SET utf8mb3, gb varchar(10) CHARACTER SET gbk
)""".replace("{labels}", ", ".join(f"'l{i}'" for i in range(300)))
ROWS = [
    "(1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, "
    "-3.4028234663852886e38, -1.7976931348623157e308, -9999999999, "
    "-99999999999999999999999999999999999.999999999999999999999999999999, -0.99999, "
    "-123456789012345.6789, 0.00, '', '', '', '', X'00', X'', '', '', X'', X'', "
    "'1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.1', "
    "'1000-01-01 00:00:00.001', '1000-01-01 00:00:00.000001', '1970-01-01 00:00:01', "
    "'1970-01-01 00:00:01.01', '1970-01-01 00:00:01.00001', '1970-01-01 00:00:01.000001', "
    "1901, 'a', 'l0', '', '')",
    "(2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, "
    "9223372036854775807, 18446744073709551615, 3.4028234663852886e38, "
    "1.7976931348623157e308, 9999999999, "
    "99999999999999999999999999999999999.999999999999999999999999999999, 0.99999, "
    "123456789012345.6789, 9999999999.99, 'abc', 'éàü', REPEAT('x', 300), 'ü€😀', "
    "X'FFFFFFFF', X'00FF00', REPEAT('tëxt ', 100), REPEAT('m', 70000), REPEAT(X'00FF', 40000), "
    "X'01', '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.9', "
    "'9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', "
    "'2038-01-19 03:14:07.99', '2038-01-19 03:14:07.99999', '2038-01-19 03:14:07.999999', "
    "2155, 'ü', 'l299', 'ünï', '中文')",
    "(3, 0, 1, -1, 1, -1, 1, -1, 1, -1, 1, 0.1, 0.1, 0, 0.000000000000000000000000000001, "
    "0.00001, -0.0001, 0.01, 'a  ', 'a', ' a ', 'a\\0b', X'0000', X'00', 'x', 'y', X'00', "
    "X'', '2024-02-29', '2024-02-29 12:34:56', '2024-02-29 12:34:56.5', "
    "'2024-02-29 12:34:56.050', '2024-02-29 12:34:56.000500', '2024-02-29 12:34:56', "
    "'2024-02-29 12:34:56.10', '2024-02-29 12:34:56.00010', '2024-02-29 12:34:56.123456', "
    "2000, 'b', 'l255', 'x', 'y')",
    "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    # zero and partly zero dates, and a zero TIMESTAMP, as a server without strict mode takes
    "(5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 'z', 'z', 'z', 'z', X'01', X'01', "
    "'z', 'z', X'01', X'01', '0000-00-00', '0000-00-00 00:00:00', '2024-00-10 00:00:00.5', "
    "'2024-05-00 01:02:03.004', '0000-00-00 00:00:00.000001', '0000-00-00 00:00:00', "
    "'0000-00-00 00:00:00', NULL, NULL, 0, 'a', 'l1', 'z', 'z')",
    # a NULL after a zero date
    "(6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
]
OTHER = ("CREATE TABLE other (id int PRIMARY KEY, t time(3), b bit(5), s set('x', 'y'), "
         "j json, g geometry)")


def _same(mine: Any, theirs: Any) -> bool:
    return type(mine) is type(theirs) and mine == theirs


def _events(url: str, file: str, pos: int) -> list[tuple[str, Any, Any]]:
    """(table and event kind, turnout's rows or None where it left the event to the library,
    the library's rows) of each row event from `file:pos` on."""
    settings, _ = connection_settings(Endpoint.parse(url))
    options = dict(
        connection_settings={k: settings[k] for k in ("host", "port", "user", "password")},
        server_id=4_242_424, blocking=False, resume_stream=True, log_file=file, log_pos=pos,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        only_schemas=[url.rsplit("/", 1)[1]], freeze_schema=True)
    mine, theirs = _read(binlog.stream_class()(**options)), _read(BinLogStreamReader(**options))
    assert [_name(e) for e in mine] == [_name(e) for e in theirs]
    return [(_name(m), m.rows if isinstance(m, rawevents.Rows) else None, t.rows)
            for m, t in zip(mine, theirs, strict=True)]


def _read(stream: Any) -> list[Any]:
    rows = ("WriteRowsEvent", "UpdateRowsEvent", "DeleteRowsEvent")
    try:  # turnout's stream hands out XIDs and GTIDs whatever only_events says
        return [e for e in stream if rawevents.kind_of(e) in rows]
    finally:
        stream.close()


def _name(event: Any) -> str:
    return f"{event.table} {rawevents.kind_of(event)}"


def test_the_codec_decodes_every_row_as_the_library_does(mysql_url: str) -> None:
    my_execute(mysql_url, TYPED + ";\n" + OTHER)
    with _connect(mysql_url) as conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, pos = cur.fetchone()[:2]
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute(f"INSERT INTO typed VALUES {', '.join(ROWS)}")
        cur.execute("UPDATE typed SET dte = NULL, dt0 = '2001-02-03 04:05:06', d = -0.0, "
                    "vs = CONCAT(vs, 'ß') WHERE id IN (2, 5)")
        cur.execute("UPDATE typed SET dec2 = -dec2, dec4 = dec4 + 1, ts6 = NULL")
        cur.execute("DELETE FROM typed WHERE id IN (1, 3, 5)")
        cur.execute("INSERT INTO other VALUES (1, '-838:59:59.999', b'10101', 'x,y', "
                    "'{\"a\": 1}', ST_GeomFromText('POINT(1 1)'))")
        conn.commit()
    decoded = _events(mysql_url, file, int(pos))
    kinds = [t for t, _, _ in decoded]  # a large statement's rows come in several events
    assert sorted(set(kinds)) == ["other WriteRowsEvent", "typed DeleteRowsEvent",
                                  "typed UpdateRowsEvent", "typed WriteRowsEvent"]
    for table, mine, theirs in decoded:
        if table.startswith("other"):
            assert mine is None  # TIME, BIT, SET, JSON, GEOMETRY: the library decodes
            continue
        assert mine is not None and len(mine) == len(theirs)
        for row_mine, row_theirs in zip(mine, theirs, strict=True):
            assert row_mine.keys() == row_theirs.keys()
            for part in row_mine:
                if not part.endswith("none_sources"):
                    for name, value in row_theirs[part].items():
                        assert _same(row_mine[part][name], value), (part, name)
                    continue
                assert row_mine[part] == row_theirs[part], part
    # the values themselves, as MySQL wrote them
    inserted = [r for t, mine, _ in decoded if t == "typed WriteRowsEvent" for r in mine or []]
    assert len(inserted) == len(ROWS)
    first, second = inserted[0]["values"], inserted[1]["values"]
    assert first["dec2"] == decimal.Decimal("-" + "9" * 35 + "." + "9" * 30)
    assert first["dt6"] == dt.datetime(1000, 1, 1, 0, 0, 0, 1)
    assert second["ts5"] == dt.datetime(2038, 1, 19, 3, 14, 7, 999990)
    assert second["bu"] == 2**64 - 1 and second["vs"] == "ü€😀" and second["gb"] == "中文"
    assert second["big"] == "l299" and second["bin"] == b"\xff\xff\xff\xff"
    assert inserted[4]["none_sources"]["dt1"] == "out of datetime2 range"


def test_the_stream_hands_out_what_the_library_hands_out_at_the_same_positions(
        mysql_url: str) -> None:
    """Every event capture reads (GTIDs, BEGIN, COMMIT, XIDs, DDL, rows of several tables,
    one of them filtered out), with its timestamp and the stream's position after it."""
    from pymysqlreplication.event import MariadbGtidEvent, QueryEvent, XidEvent

    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v varchar(20))")
    my_execute(mysql_url, "CREATE TABLE dropped (id int PRIMARY KEY, v varchar(20))")
    with _connect(mysql_url) as conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, pos = cur.fetchone()[:2]
        for i in range(20):
            cur.execute("INSERT INTO kept VALUES (%s, 'a'), (%s, NULL)", (2 * i, 2 * i + 1))
            cur.execute("INSERT INTO dropped VALUES (%s, 'b')", (i,))
            cur.execute("UPDATE kept SET v = 'ü' WHERE id = %s", (2 * i,))
            cur.execute("DELETE FROM kept WHERE id = %s", (2 * i + 1,))
            conn.commit()
        cur.execute("ALTER TABLE kept ADD COLUMN w int")
        cur.execute("INSERT INTO kept VALUES (100, 'x', 7)")
        conn.commit()
    settings, _ = connection_settings(Endpoint.parse(mysql_url))
    options = dict(
        connection_settings={k: settings[k] for k in ("host", "port", "user", "password")},
        server_id=4_242_425, blocking=False, resume_stream=True, log_file=file,
        log_pos=int(pos), only_tables=["kept"], only_schemas=[mysql_url.rsplit("/", 1)[1]],
        freeze_schema=True, only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent,
                                         XidEvent, QueryEvent, MariadbGtidEvent])

    raw: list[str] = []

    def seen(stream: Any) -> list[tuple[Any, ...]]:
        found = []
        try:
            for event in stream:
                if isinstance(event, rawevents.RawEvent):
                    raw.append(event.kind)
                rows = getattr(event, "rows", None)
                found.append((rawevents.kind_of(event), event.timestamp, stream.log_file,
                               stream.log_pos, getattr(event, "gtid", None),
                               getattr(event, "query", None), getattr(event, "table", None),
                               rows))
        finally:
            stream.close()
        return found

    mine = seen(binlog.stream_class()(**options))
    theirs = seen(BinLogStreamReader(**options))
    assert mine == theirs
    kinds = {kind for kind, *_ in mine}
    assert kinds == {"MariadbGtidEvent", "XidEvent", "QueryEvent", "WriteRowsEvent",
                     "UpdateRowsEvent", "DeleteRowsEvent"}
    assert sum(k == "WriteRowsEvent" for k, *_ in mine) == 21  # none of `dropped`
    assert set(raw) == kinds - {"QueryEvent"}  # MariaDB writes no BEGIN: its GTID begins
