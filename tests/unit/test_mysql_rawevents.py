"""rawevents.decode on packets built by hand: the events the stream reads itself, and the ones
python-mysql-replication would drop without a word (compressed, partial JSON updates, an
incident), which must become a stop, never a skip, when they may hold the task's rows.
tests/integration/test_mysql_rowcodec.py holds the rest against the library on a real
binlog."""

from __future__ import annotations

import struct
from types import SimpleNamespace
from typing import Any

from turnout.engines.mysql import rawevents


class _Reader:
    def __init__(self) -> None:
        self.table_map: dict[int, Any] = {7: SimpleNamespace(table="kept", schema="db")}
        self.log_pos = 0
        self.use_checksum = True

    def codec(self, table_id: int, mapped: Any) -> None:
        return None


def _packet(kind: int, body: bytes, log_pos: int = 500, server_id: int = 3) -> bytes:
    size = 19 + len(body) + 4
    header = struct.pack("<IBIIIH", 1_700_000_000, kind, server_id, size, log_pos, 0)
    return b"\x00" + header + body + b"\xde\xad\xbe\xef"


def _rows_body(table_id: int) -> bytes:
    return table_id.to_bytes(6, "little") + b"\x00\x00" + b"compressed or partial"


def test_frequent_events_are_read_and_move_the_position() -> None:
    reader = _Reader()
    gtid = rawevents.decode(reader, _packet(162, struct.pack("<QIB", 42, 0, 0) + bytes(10)),
                            b"")
    assert isinstance(gtid, rawevents.Gtid) and gtid.gtid == "0-3-42"
    assert reader.log_pos == 500
    xid = rawevents.decode(reader, _packet(16, bytes(8), log_pos=600), b"")
    assert isinstance(xid, rawevents.Xid) and reader.log_pos == 600
    one_phase = rawevents.decode(reader, _packet(38, b"\x01" + bytes(12)), b"")
    assert isinstance(one_phase, rawevents.XaPrepare) and one_phase.one_phase
    assert rawevents.decode(reader, _packet(19, (7).to_bytes(6, "little") + bytes(4)), b"") \
        is rawevents.SKIP  # a table map held already
    assert rawevents.decode(reader, _packet(19, (8).to_bytes(6, "little") + bytes(4)), b"") \
        is None  # a new one: the library's


def test_an_event_the_library_would_drop_stops_where_it_may_hold_the_tasks_rows() -> None:
    reader = _Reader()
    for kind in (166, 169, 171, 39):  # compressed rows (MariaDB), partial JSON (MySQL)
        event = rawevents.decode(reader, _packet(kind, _rows_body(7)), b"")
        assert isinstance(event, rawevents.Unreadable), kind
        assert "'kept'" in event.what and "--resnapshot" in event.fix
        assert rawevents.decode(reader, _packet(kind, _rows_body(9)), b"") is rawevents.SKIP
    for kind, words in ((165, "log_bin_compress"), (40, "binlog_transaction_compression"),
                        (26, "incident")):
        event = rawevents.decode(reader, _packet(kind, bytes(16)), b"")
        assert isinstance(event, rawevents.Unreadable) and words in event.what, kind


def test_a_statement_other_than_begin_or_commit_is_the_librarys() -> None:
    lengths = bytes([13] * 40)  # QUERY's post-header length at index 1

    def query(text: bytes) -> bytes:
        post = struct.pack("<IIBHH", 1, 0, 2, 0, 0)  # thread, time, schema size, error, vars
        return post + b"db\x00" + text

    begin = rawevents.decode(_Reader(), _packet(2, query(b"BEGIN")), lengths)
    assert isinstance(begin, rawevents.Statement) and begin.query == "BEGIN"
    assert begin.schema == b"db"
    assert rawevents.decode(_Reader(), _packet(2, query(b"ALTER TABLE kept ADD c int")),
                            lengths) is None
    assert rawevents.decode(_Reader(), _packet(2, query(b"BEGIN")), b"") is None  # no lengths
