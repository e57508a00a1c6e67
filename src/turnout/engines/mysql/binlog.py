"""The binlog dump connection as capture.py uses it: how it is opened, whether more of it is
already waiting, and when a transaction read from it committed.

capture.py decides what to read and hands transactions out; this module holds what it asks
of python-mysql-replication and of the connection's socket.
"""

from __future__ import annotations

import select
import zlib
from typing import Any

from turnout.engines.mysql import faults
from turnout.engines.mysql.link import MysqlSource
from turnout.engines.mysql.positions import MysqlPosition

HEARTBEAT_S = 0.5  # the server sends a heartbeat after this much silence


def open_stream(engine: MysqlSource, slot: str, start: dict[str, Any], only_tables: list[str],
                stall_timeout_s: float) -> Any:
    """A blocking binlog stream of the captured database's rows, DDL and commits, from
    `start` (start_at()); rows of tables outside `only_tables` are dropped unparsed."""
    from pymysqlreplication import BinLogStreamReader
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
    return BinLogStreamReader(
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
        pymysql_wrapper=faults.tuned_connection_class(),
        # A table map names the table's columns before every row event; parsing it each
        # time was half of capture's time. Within one binlog file an id keeps its table
        # and definition (an ALTER takes a new id), so the first map of each id is enough
        # there; capture forgets them all where a file starts, since a restart (which
        # always starts a new file) hands the same ids out to other tables.
        freeze_schema=True,
        **start,
    )


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


def commit_time(stamp: float, read_at: float) -> float:
    """When a transaction committed, as closely as the binlog tells: its events carry whole
    seconds, so a commit stamped second T happened in [T, T + 1). Read before T + 1 (turnout
    is following), it committed no later than it was read: that moment, early by no more
    than the commit took to arrive. Read later (catching up): T, which may be up to a
    second early, so a delay computed from it errs long, never short by more than that.
    Taking T always would add up to a second to every delay measured while following."""
    return read_at if stamp <= read_at < stamp + 1 else stamp


def server_id(slot: str) -> int:
    """A replica id of our own per task, away from the small numbers servers use."""
    return 1_000_000 + zlib.crc32(slot.encode()) % 1_000_000_000
