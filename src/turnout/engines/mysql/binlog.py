"""The binlog dump connection as capture.py uses it: how it is opened, whether more of it is
already waiting, and when a transaction read from it committed.

capture.py decides what to read and hands transactions out; this module holds what it asks
of python-mysql-replication and of the connection's socket. The library keeps the
connection and the rare events; the frequent ones are read from the packets here
(rawevents.py says which and why).
"""

from __future__ import annotations

import select
import zlib
from functools import cache
from typing import Any

from turnout.engines.mysql import faults, rawevents, rowcodec
from turnout.engines.mysql.link import MysqlSource
from turnout.engines.mysql.positions import MysqlPosition

HEARTBEAT_S = 0.5  # the server sends a heartbeat after this much silence


def open_stream(engine: MysqlSource, slot: str, start: dict[str, Any], only_tables: list[str],
                stall_timeout_s: float) -> Any:
    """A blocking binlog stream of the captured database's rows, DDL and commits, from
    `start` (start_at()); rows of tables outside `only_tables` are dropped unparsed."""
    from pymysqlreplication.event import (
        FormatDescriptionEvent,
        HeartbeatLogEvent,
        MariadbGtidEvent,
        QueryEvent,
        RotateEvent,
        XidEvent,
    )
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    settings = {k: v for k, v in engine.settings.items()
                if k in ("host", "port", "user", "password", "unix_socket", "connect_timeout")}
    # heartbeats come every HEARTBEAT_S: a read that waits stall_timeout_s is a lost
    # connection (the library reconnects once, and a reconnect that fails is raised)
    settings["read_timeout"] = settings["write_timeout"] = stall_timeout_s
    return stream_class()(
        connection_settings=settings,
        server_id=server_id(slot),
        blocking=True,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, XidEvent, QueryEvent,
                     RotateEvent, FormatDescriptionEvent, HeartbeatLogEvent,
                     MariadbGtidEvent],
        only_schemas=[engine.database],
        # other tables' rows are dropped before parsing; the heartbeats are turnout's own
        only_tables=only_tables,
        slave_heartbeat=HEARTBEAT_S,
        # A table map names the table's columns before every row event; parsing it each
        # time was half of capture's time. Within one binlog file an id keeps its table
        # and definition (an ALTER takes a new id), so the first map of each id is enough
        # there; capture forgets them all where a file starts, since a restart (which
        # always starts a new file) hands the same ids out to other tables.
        freeze_schema=True,
        **start,
    )


@cache
def stream_class() -> type:
    """python-mysql-replication's stream, whose connection decodes the frequent events itself
    (rawevents.py): they leave the library's fetchone() as rawevents.Decoded."""
    import pymysql
    from pymysqlreplication import BinLogStreamReader

    class StreamConnection(faults.tuned_connection_class()):  # type: ignore[misc]
        """A connection of the stream (the library opens its control connection the same
        way): once the dump is asked for, every packet is offered to rawevents first."""

        reader: Any = None
        dumping = False
        lengths = b""  # post-header lengths of the last format description

        def _write_bytes(self, data: bytes) -> None:
            super()._write_bytes(data)
            if len(data) > 4 and data[4] in rawevents.DUMP_COMMANDS:
                self.dumping = True

        def _read_packet(self, packet_type: Any = pymysql.protocol.MysqlPacket) -> Any:
            while True:
                packet = super()._read_packet(packet_type)
                if not self.dumping:
                    return packet
                data = packet._data
                if rawevents.is_format_description(data):
                    self.lengths = rawevents.post_header_lengths(data)
                event = rawevents.decode(self.reader, data, self.lengths)
                if event is None:
                    return packet
                if event is not rawevents.SKIP:
                    raise rawevents.Decoded(event)  # type: ignore[arg-type]

    class Stream(BinLogStreamReader):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            # a table map of an id held already is passed over (rawevents.py), which is
            # right only while the maps held are never replaced within a file
            assert kwargs.get("freeze_schema"), "the stream holds each table map as first read"
            super().__init__(pymysql_wrapper=self._connect, **kwargs)
            self._codecs: dict[int, tuple[Any, rowcodec.RowCodec | None]] = {}

        def _connect(self, **settings: Any) -> Any:
            conn = StreamConnection(**settings)
            conn.reader = self
            return conn

        @property
        def use_checksum(self) -> bool:
            return bool(self._BinLogStreamReader__use_checksum)

        def codec(self, table_id: int, mapped: Any) -> rowcodec.RowCodec | None:
            """The readers of a table map's columns, built once per map (rowcodec.py)."""
            held = self._codecs.get(table_id)
            if held is None or held[0] is not mapped:
                held = self._codecs[table_id] = (mapped, rowcodec.codec_for(mapped.columns))
            return held[1]

        def fetchone(self) -> Any:
            try:
                return super().fetchone()
            except rawevents.Decoded as found:
                return found.event

    return Stream


def start_at(after: MysqlPosition, from_gtid: str | None) -> dict[str, Any]:
    """The library's arguments for where the stream starts.

    By GTID, the library sets `@slave_connect_state` and sends MariaDB's dump request
    without a file; the server answers with a Rotate event naming the file it starts
    in, then sends only the transactions after the state. By file and offset, the
    classic request (is_mariadb=True without a GTID would drop log_file/log_pos and
    stream every binlog from the first one).
    """
    if from_gtid is not None:
        return {"is_mariadb": True, "auto_position": from_gtid}
    return {"is_mariadb": False, "resume_stream": True, "log_file": after.file,
            "log_pos": after.pos}


def waiting(stream: Any) -> bool:
    """Whether more of the binlog has reached the connection's socket and is not read yet.

    No: what was sent is read, so a read can hand its changes out now instead of waiting
    for the next commit (while turnout keeps up, that wait was the delay). Bytes the
    driver buffered already may still hold an event; that read then ends a little early,
    which only makes a batch smaller. Unknown (no socket to ask): yes, keep reading.
    """
    sock = getattr(getattr(stream, "_stream_connection", None), "_sock", None)
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):  # closed, or a descriptor select() cannot watch
        return True


def commit_time(stamp: float, read_at: float, floor: float | None = None) -> float:
    """When a transaction committed, as closely as the binlog tells: its events carry whole
    seconds, so a commit stamped second T happened in [T, T + 1). Read before T + 1 (turnout
    is following), it committed no later than it was read: that moment, early by no more
    than the commit took to arrive. Read later: the latest of T and `floor`, the value of
    the task's last heartbeat read before it (turnout's own clock, set before that
    heartbeat committed, and the binlog keeps commit order), so never after the commit.

    Taking T alone put every commit read just past its second (turnout following a second
    behind or less) up to a second early, and the delay up to a second long."""
    if stamp <= read_at < stamp + 1:
        return read_at
    return max(stamp, min(floor or stamp, read_at))


def server_id(slot: str) -> int:
    """A replica id of our own per task, away from the small numbers servers use."""
    return 1_000_000 + zlib.crc32(slot.encode()) % 1_000_000_000
