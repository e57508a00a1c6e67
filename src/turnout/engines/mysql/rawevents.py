"""The binlog's frequent events read straight from the packet's bytes; python-mysql-replication
keeps the connection and every other event.

A sysbench transaction is about ten events (a GTID, a table map before each of four row
events, an XID). Building the library's packet wrapper and event object for each was over
half of capture's CPU, more than decoding the rows. So the stream connection (binlog.py)
looks at each packet first, and decodes here:

- the rows of a table whose map the library already holds, when rowcodec reads every
  column of that map and the event carries every column (a FULL row image);
- a table map of a table id already held (the library would skip it as well: capture
  opens the stream with freeze_schema, and forgets every map where a binlog file starts);
- a MariaDB GTID, an XID, a BEGIN or COMMIT statement, and an XA PREPARE (which the
  library would drop: capture stops on a prepared XA transaction of its tables);
- an event the library cannot read and would drop without a word: MariaDB's compressed
  events (`log_bin_compress`), MySQL's compressed transactions
  (`binlog_transaction_compression`) and partial JSON updates (`binlog_row_value_options`),
  and an incident, a server's note that changes may be missing from its binlog (a replica
  stops on it); and rows of a held table map without all their columns (binlog_row_image
  switched from FULL after precheck), whose columns left out the library gives as None.
  Those become `Unreadable`, on which capture stops.

Anything else (a rotation, a format description, a new table map, DDL, a heartbeat, the
rows of a table rowcodec does not read whole) goes to the library unchanged, which stays
the reference: tests/integration/test_mysql_rowcodec.py reads the same binlog both ways
and holds the events and rows equal.

An event decoded here leaves the library's loop as the exception `Decoded`, which the
stream's fetchone() returns; a packet the library would drop (`SKIP`: rows or a map of a
table it filtered out or holds already) is passed over in the connection.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar, Protocol

from turnout.engines.mysql import rowcodec

HEADER = struct.Struct("<IBIIIH")  # timestamp, type, server id, size, next position, flags
HEADER_END = 20  # the packet's OK byte, then the 19 bytes of the event header
_QUERY, _XID, _TABLE_MAP, _FORMAT, _GTID, _XA_PREPARE = 2, 16, 19, 15, 162, 38
_ROWS = {23: ("WriteRowsEvent", False, False), 24: ("UpdateRowsEvent", True, False),
         25: ("DeleteRowsEvent", False, False), 30: ("WriteRowsEvent", False, True),
         31: ("UpdateRowsEvent", True, True), 32: ("DeleteRowsEvent", False, True)}
_POST_HEADER = {_QUERY: 13, **{k: 10 if v2 else 8 for k, (_, _, v2) in _ROWS.items()}}
_FORMAT_LENGTHS_AT = HEADER_END + 2 + 50 + 4 + 1  # version, server version, created, size
_QUERY_COMPRESSED, _PAYLOAD = 165, 40  # MariaDB's QUERY_COMPRESSED, MySQL's TRANSACTION_PAYLOAD
_ROWS_COMPRESSED = range(166, 172)  # MariaDB's WRITE/UPDATE/DELETE_ROWS_COMPRESSED(_V1)
_PARTIAL_UPDATE, _INCIDENT = 39, 26  # MySQL's partial JSON update; a server's incident
_UNREADABLE = {_QUERY_COMPRESSED, _PAYLOAD, _PARTIAL_UPDATE, _INCIDENT, *_ROWS_COMPRESSED}
_RESNAPSHOT = "then start the task again with --resnapshot"
DUMP_COMMANDS = (0x12, 0x1E)  # COM_BINLOG_DUMP, COM_BINLOG_DUMP_GTID: the stream starts
SKIP = object()  # a packet the library would drop: read on


class Reader(Protocol):
    """What decoding asks of the stream (binlog.Stream)."""

    table_map: dict[int, Any]
    log_pos: int

    @property
    def use_checksum(self) -> bool: ...

    def codec(self, table_id: int, mapped: Any) -> rowcodec.RowCodec | None: ...


class RawEvent:
    """An event decoded here; `kind` is the name of the library's class for it."""

    __slots__ = ("timestamp",)
    kind: ClassVar[str] = ""

    def __init__(self, timestamp: int) -> None:
        self.timestamp = timestamp


class Xid(RawEvent):
    __slots__ = ()
    kind = "XidEvent"


class Gtid(RawEvent):
    __slots__ = ("gtid",)
    kind = "MariadbGtidEvent"

    def __init__(self, timestamp: int, gtid: str) -> None:
        super().__init__(timestamp)
        self.gtid = gtid


class XaPrepare(RawEvent):
    """The end of an XA transaction's first phase, or of a one-phase XA commit (MySQL)."""

    __slots__ = ("one_phase",)
    kind = "XaPrepareEvent"

    def __init__(self, timestamp: int, one_phase: bool) -> None:
        super().__init__(timestamp)
        self.one_phase = one_phase


class Statement(RawEvent):
    """BEGIN or COMMIT (any other statement is the library's)."""

    __slots__ = ("query", "schema")
    kind = "QueryEvent"

    def __init__(self, timestamp: int, query: str, schema: bytes) -> None:
        super().__init__(timestamp)
        self.query, self.schema = query, schema


class Unreadable(RawEvent):
    """An event that may hold the task's changes in a form turnout cannot apply, or says
    changes are missing: capture stops on it. `what` it is, and the `fix`."""

    __slots__ = ("fix", "what")
    kind = "Unreadable"

    def __init__(self, timestamp: int, what: str, fix: str) -> None:
        super().__init__(timestamp)
        self.what, self.fix = what, fix


class Rows(RawEvent):
    """A row event whose images rowcodec reads whole; `rows` in the library's shape."""

    __slots__ = ("table_id", "table", "schema", "columns", "number_of_columns", "table_map",
                 "_codec", "_data", "_start", "_end", "_update", "_kind")

    def __init__(self, timestamp: int, kind: str, update: bool, table_id: int, mapped: Any,
                 table_map: dict[int, Any], codec: rowcodec.RowCodec, data: bytes,
                 span: tuple[int, int]) -> None:
        super().__init__(timestamp)
        self._kind, self._update = kind, update
        self.table_id, self.table, self.schema = table_id, mapped.table, mapped.schema
        self.columns, self.table_map = mapped.columns, table_map
        self.number_of_columns = len(codec.names)
        self._codec, self._data = codec, data
        self._start, self._end = span

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self._kind

    @property
    def rows(self) -> list[dict[str, Any]]:
        try:
            return rowcodec.rows(self._codec, self._data, self._start, self._end, self._update)
        except ValueError as exc:
            raise ValueError(f"a row event of {self.table!r}: {exc}") from exc


class Decoded(Exception):  # noqa: N818 - not an error: how an event leaves the library's loop
    def __init__(self, event: RawEvent) -> None:
        super().__init__()
        self.event = event


def kind_of(event: Any) -> str:
    """The library's class name for an event, whichever decoded it."""
    return event.kind if isinstance(event, RawEvent) else type(event).__name__


def post_header_lengths(data: bytes) -> bytes:
    """A format description's post-header length of each event type (index type - 1)."""
    return data[_FORMAT_LENGTHS_AT:]


def is_format_description(data: bytes) -> bool:
    return len(data) > HEADER_END and data[0] == 0 and data[5] == _FORMAT


def decode(reader: Reader, data: bytes, lengths: bytes) -> RawEvent | object | None:
    """The event in a packet of the stream: a RawEvent, SKIP, or None for the library.
    `lengths` are the post-header lengths of the format description read last."""
    if len(data) < HEADER_END or data[0]:
        return None
    timestamp, kind, server_id, size, log_pos, _ = HEADER.unpack_from(data, 1)
    event = _event(reader, data, lengths, kind, timestamp, server_id,
                   1 + size - (4 if reader.use_checksum else 0))
    if event is not None and log_pos:
        reader.log_pos = log_pos  # as the library does for every event it reads
    return event


def _event(reader: Reader, data: bytes, lengths: bytes, kind: int, timestamp: int,
           server_id: int, end: int) -> RawEvent | object | None:
    if kind in _UNREADABLE:
        return _unreadable(reader, data, kind, timestamp)
    offset = _payload(kind, lengths)
    if offset is None:
        return None
    if kind == _XID:
        return Xid(timestamp)
    if kind == _XA_PREPARE:
        return XaPrepare(timestamp, bool(data[HEADER_END]))
    if kind == _GTID:
        seq, domain = struct.unpack_from("<QI", data, HEADER_END)
        return Gtid(timestamp, f"{domain}-{server_id}-{seq}")
    if kind == _TABLE_MAP:
        return SKIP if _table_id(data) in reader.table_map else None
    if kind == _QUERY:
        return _statement(data, offset, end, timestamp)
    return _rows(reader, data, offset, end, timestamp, kind)


def _unreadable(reader: Reader, data: bytes, kind: int, timestamp: int) -> object:
    """An Unreadable where the event may hold the task's changes or says some are missing;
    SKIP for rows of a table the task does not move (its table map was not kept)."""
    if kind == _INCIDENT:
        return Unreadable(timestamp, "an incident: the server noted that changes may be "
                          "missing from its binlog", "compare the tables with turnout verify, "
                          + _RESNAPSHOT)
    if kind == _PAYLOAD:
        return Unreadable(timestamp, "a transaction compressed (binlog_transaction_compression"
                          " is on)", _setting("binlog_transaction_compression", "OFF"))
    if kind == _QUERY_COMPRESSED:  # a long statement: DDL of a captured table, maybe
        return Unreadable(timestamp, "a statement compressed (log_bin_compress is on)",
                          _setting("log_bin_compress", "OFF"))
    mapped = reader.table_map.get(_table_id(data))
    if mapped is None:
        return SKIP
    if kind == _PARTIAL_UPDATE:
        return Unreadable(timestamp, f"a partial JSON update of table {mapped.table!r} "
                          "(binlog_row_value_options = PARTIAL_JSON), which carries no whole "
                          "document", _setting("binlog_row_value_options", "''"))
    return Unreadable(timestamp, f"rows of table {mapped.table!r} compressed "
                      "(log_bin_compress is on)", _setting("log_bin_compress", "OFF"))


def _setting(name: str, value: str) -> str:
    return (f"SET GLOBAL {name} = {value} on the source (and in its configuration), "
            + _RESNAPSHOT)


def _payload(kind: int, lengths: bytes) -> int | None:
    """Where an event's body starts after its post-header, as the server declares it; None
    for a type not read here, or a declaration this module does not expect."""
    if kind in (_XID, _GTID, _TABLE_MAP, _XA_PREPARE):
        return HEADER_END
    known = _POST_HEADER.get(kind)
    if known is None or kind > len(lengths):
        return None
    declared = lengths[kind - 1]
    return HEADER_END + declared if declared >= known else None


def _table_id(data: bytes) -> int:
    return int.from_bytes(data[HEADER_END:HEADER_END + 6], "little")


def _statement(data: bytes, payload: int, end: int, timestamp: int) -> Statement | None:
    schema_size = data[HEADER_END + 8]
    status_size = int.from_bytes(data[HEADER_END + 11:HEADER_END + 13], "little")
    schema_at = payload + status_size
    query = data[schema_at + schema_size + 1:end]
    if query not in (b"BEGIN", b"COMMIT"):
        return None
    return Statement(timestamp, query.decode(), data[schema_at:schema_at + schema_size])


def _rows(reader: Reader, data: bytes, payload: int, end: int, timestamp: int,
          kind: int) -> RawEvent | object | None:
    name, update, v2 = _ROWS[kind]
    table_id = _table_id(data)
    mapped = reader.table_map.get(table_id)
    if mapped is None:  # a table the library filtered out, as it drops these rows
        return SKIP
    if v2:  # the extra data's length counts its own two bytes, already in the post-header
        payload += int.from_bytes(data[HEADER_END + 8:HEADER_END + 10], "little") - 2
    if data[payload] >= 251:  # 251 columns or more: the library counts them
        return None
    count, pos = data[payload], payload + 1
    width = (count + 7) // 8
    every = rowcodec.every_column(count)
    if data[pos:pos + width] != every or (update and data[pos + width:pos + 2 * width] != every):
        return Unreadable(timestamp, f"rows of table {mapped.table!r} without all their "
                          "columns (binlog_row_image is not FULL), where a column left out "
                          "would arrive as NULL", _setting("binlog_row_image", "FULL"))
    codec = reader.codec(table_id, mapped)
    if codec is None or count != len(codec.names):
        return None
    pos += 2 * width if update else width
    return Rows(timestamp, name, update, table_id, mapped, reader.table_map, codec, data,
                (pos, end))

