"""Where a Redis's replication stream stands, for a switchover: markers, not reads.

A Redis task reads the stream itself (sync.py); what switchover needs of a
capture is a position everyone can wait for or start from:

- install() makes sure the server keeps a replication backlog, so that a task
  can later continue from a position taken now. A Redis that never had a
  replica has none, and its replication id changes when the first one comes: a
  replica handshake (PSYNC ? -1, dropped at +FULLRESYNC) creates it before
  the id is read.
- marker() is the stream's end now, read between two writes of turnout's own
  marker key in two databases: the second write makes the server send SELECT,
  so a task that starts from the marker learns its database from the stream
  before any command it applies (sync.py skips nothing else until then).
"""

from __future__ import annotations

import time
from typing import Any

from turnout.engines.capture import Capture
from turnout.engines.redis.position import RedisPosition
from turnout.engines.redis.replica import Replica
from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed, Unsupported
from turnout.model import Change, Position

MARKER = "_turnout:marker:{slot}"


class RedisCapture(Capture):
    def __init__(self, url: RedisUrl, client: Any, slot: str) -> None:
        self.url, self.client, self.key = url, client, MARKER.format(slot=slot)

    def _replication(self) -> dict[str, Any]:
        info: dict[str, Any] = self.client.info("replication")
        return info

    def install(self) -> None:
        if int(self._replication().get("repl_backlog_active", 0)):
            return
        replica = Replica(self.url)
        try:
            replica.psync()  # the backlog is made at this answer; the RDB is not wanted
        finally:
            replica.close()
        if not int(self._replication().get("repl_backlog_active", 0)):
            raise OperationFailed(f"{self.url} kept no replication backlog after a replica "
                                  "handshake: a task could not continue from a position")

    def resume(self) -> None:
        if not int(self._replication().get("repl_backlog_active", 0)):
            raise OperationFailed(f"{self.url} has dropped its replication backlog (no replica "
                                  "for repl-backlog-ttl seconds): start the task again with "
                                  "--resnapshot, and raise repl-backlog-ttl")

    def current_position(self) -> RedisPosition:
        info = self._replication()
        return RedisPosition(str(info["master_replid"]), int(info["master_repl_offset"]))

    def marker(self) -> Position:
        self.install()
        stamp = str(time.time())
        self.client.execute_command("SELECT", 0)
        self.client.execute_command("SET", self.key, stamp)
        at = self.current_position()
        if self._databases() == 1:
            return RedisPosition(at.replid, at.offset, 0)
        self.client.execute_command("SELECT", 1)  # the server sends SELECT 1 after `at`
        self.client.execute_command("SET", self.key, stamp)
        self.client.execute_command("DEL", self.key)
        self.client.execute_command("SELECT", 0)
        return at

    def _databases(self) -> int:
        try:
            found = self.client.config_get("databases")
        except Exception:  # noqa: BLE001 - CONFIG refused to this user: assume several
            return 16
        return int(found.get("databases", 16))

    def read(self, after: Position, limit: int) -> tuple[list[Change], Position]:
        raise Unsupported("a Redis task reads the replication stream in its own session")

    def oldest_pending_ts(self, after: Position) -> float | None:
        raise Unsupported("a Redis task reads the replication stream in its own session")

    def ack(self, upto: Position) -> None:
        raise Unsupported("a Redis task reads the replication stream in its own session")

    def remove(self) -> None:
        for db in (0, 1):
            self.client.execute_command("SELECT", db)
            self.client.execute_command("DEL", self.key)
        self.client.execute_command("SELECT", 0)
