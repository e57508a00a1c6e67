"""Writes into the destination Redis: RESTORE payloads from the RDB, then the command
stream in MULTI/EXEC batches that carry the checkpoint.

The checkpoint is a key, `_turnout:checkpoint:<task>`, in the destination's home database
(the URL's, else 0), set in the same MULTI/EXEC as the batch it follows: after a crash
the destination's own state says where the stream continues, as the SQL engines'
checkpoint row does.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from typing import Any

from turnout.engines.redis import bigkeys
from turnout.engines.redis.epoch import EXEC, MULTI, Epoch
from turnout.engines.redis.rdb import Entry
from turnout.engines.redis.resp import Connection, Pipeline, encode
from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed
from turnout.model import Checkpoint

CHECKPOINT = "_turnout:checkpoint:{owner}"
TEMP = "_turnout:rebuild:{owner}"  # where a big key is built before its RENAME
OWN_PREFIX = b"_turnout:"


class Applier:
    """One connection to the destination, selecting databases inside its own pipelines."""

    def __init__(self, url: RedisUrl, owner: str) -> None:
        self.url = url
        self.home = url.db or 0
        self.owner = owner
        self.key = CHECKPOINT.format(owner=owner)
        self.client: Any = url.client(self.home, name="turnout-applier")
        self._bulk: Pipeline | None = None
        self._bulk_db: int | None = None
        self._in_flight: deque[list[bytes]] = deque()  # each batch's keys, replies owed
        epoch = Checkpoint(owner, {}).epoch  # an agent's worker writes under one (epoch.py)
        self.fence = Epoch(owner, epoch, self.home) if epoch is not None else None

    def claim(self) -> None:
        """Before the checkpoint is read: an agent's worker raises the task's epoch, and
        stops (Fenced) if a newer one holds it already."""
        if self.fence is not None:
            self.fence.claim(self.client)

    def read_checkpoint(self) -> dict[str, Any] | None:
        self.client.execute_command("SELECT", self.home)
        raw = self.client.execute_command("GET", self.key)
        return json.loads(raw) if raw else None

    def write_checkpoint(self, state: dict[str, Any]) -> None:
        if self.fence is not None:
            self.fence.write_checkpoint(self.client, self.key, json.dumps(state))
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.execute_command("SELECT", self.home)
        pipe.execute_command("SET", self.key, json.dumps(state))
        pipe.execute()

    def drop_checkpoint(self) -> None:
        self.client.execute_command("SELECT", self.home)
        self.client.execute_command("DEL", self.key)

    def foreign_keys(self, dbs: Iterable[int]) -> list[int]:
        """Those of `dbs` that already hold keys other than turnout's own."""
        held = []
        for db in dbs:
            self.client.execute_command("SELECT", db)
            size = int(self.client.execute_command("DBSIZE"))
            if db == self.home:  # turnout's own: the checkpoint, an agent's worker's epoch
                size -= int(self.client.execute_command("EXISTS", self.key))
                if self.fence is not None:
                    size -= int(self.client.execute_command("EXISTS", self.fence.key))
            if size > 0:
                held.append(db)
        return held

    def empty(self, dbs: Iterable[int]) -> None:
        """Empty `dbs`, for a full copy that starts again (the checkpoint goes with them)."""
        if self.fence is not None:
            self._send_fenced([encode("SELECT", db) + encode("FLUSHDB") for db in dbs],
                              [b"(FLUSHDB %d)" % db for db in dbs], None, 2)
            return
        for db in dbs:
            self.client.execute_command("SELECT", db)
            self.client.execute_command("FLUSHDB")

    def restore(self, entries: list[tuple[int, Entry]]) -> None:
        """RESTORE each (destination db, entry) with its absolute expiry, pipelined on a
        connection of its own; an existing key is replaced, so a copy started again
        converges. The batch's replies are read while the next batch is cut (restored()
        reads the last ones); a refusal raises naming its key."""
        parts, keys = [], []
        db = start = self._bulk_db
        for target, entry in entries:
            if target != db:
                parts.append(encode("SELECT", target))
                keys.append(b"(SELECT %d)" % target)
                db = target
            key, payload = entry.key, entry.payload
            parts.append(b"*6\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$%d\r\n%d\r\n$%d\r\n%b"
                         b"\r\n$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n" % (
                             len(key), key, len(str(entry.expire_ms)), entry.expire_ms,
                             len(payload), payload))
            keys.append(key)
        self._bulk_db = db
        self._send(parts, keys, start)

    def rebuild(self, target: int, entry: Entry, per_command: int = 1000,
                batch_bytes: int = 8 << 20) -> None:
        """Copy a key too big for one RESTORE: its elements in batches of commands under a
        temporary name in the same database, its expiry, then RENAME over the key."""
        temp = TEMP.format(owner=self.owner).encode()
        commands = bigkeys.rebuild(entry.payload[0], entry.payload[1:-10], temp, per_command)
        parts, labels, size = [encode("SELECT", target)], [entry.key], 0
        self._bulk_db = target
        for command in commands:
            packed = encode(*command)
            parts.append(packed)
            labels.append(entry.key)
            size += len(packed)
            if size >= batch_bytes:
                self._send(parts, labels, target)
                parts, labels, size = [], [], 0
        if entry.expire_ms:
            parts.append(encode("PEXPIREAT", temp, entry.expire_ms))
            labels.append(entry.key)
        parts.append(encode("RENAME", temp, entry.key))
        labels.append(entry.key)
        self._send(parts, labels, target)

    def _send(self, parts: list[bytes], labels: list[bytes], start: int | None) -> None:
        """Send a batch (`labels`: the key each command is for; `start`: the database it
        begins in), then read the replies of the batches before it: one batch stays in
        flight while the next is built. An agent's worker sends it fenced instead."""
        if self.fence is not None:
            self._send_fenced(parts, labels, start)
            return
        bulk = self._pipeline()
        bulk.send(b"".join(parts), len(labels))
        self._in_flight.append(labels)
        self._settle(len(labels))

    def _send_fenced(self, parts: list[bytes], labels: list[bytes], start: int | None,
                     per_part: int = 1) -> None:
        """Send a batch as one MULTI/EXEC under WATCH of the task's epoch (epoch.py) and wait
        for it: a worker whose task was taken over applies none of it. `per_part`: commands
        in each of `parts`."""
        assert self.fence is not None
        bulk = self._pipeline()
        self.fence.watch(bulk, start)
        bulk.send(MULTI + b"".join(parts) + self.fence.stamp() + EXEC,
                  len(parts) * per_part + 4)
        done = bulk.replies()[-1]
        self._bulk_db = self.home  # the stamp selected it
        if done is None:
            self.fence.lost_race(self.client)
        for at, result in enumerate(done[:len(parts) * per_part]):
            if isinstance(result, bulk.error_type):
                key = labels[at // per_part].decode(errors="replace")
                raise OperationFailed(f"the destination refused the copy of key {key!r}: "
                                      f"{result}")

    def restored(self) -> None:
        """Wait for every RESTORE sent; raise on the first refused."""
        if self._bulk is not None:
            self._settle(0)

    def _settle(self, keep: int) -> None:
        assert self._bulk is not None
        while self._in_flight and self._bulk.owed - len(self._in_flight[0]) >= keep:
            keys = self._in_flight.popleft()
            failed = self._bulk.settle(self._bulk.owed - len(keys))
            if failed is not None:
                at, error = failed
                raise OperationFailed(f"the destination refused the copy of key "
                                      f"{keys[at].decode(errors='replace')!r}: {error}")

    def apply(self, commands: list[tuple[int, bytes]], state: dict[str, Any]) -> None:
        """Run the stream's commands (destination db, the command as RESP) and set the
        checkpoint to `state`, in one MULTI/EXEC: both happen or neither does. The batch
        goes as one write and its replies come back in one read."""
        bulk = self._pipeline()
        if self.fence is not None:
            self.fence.watch(bulk, None)
        parts, db = [MULTI], None
        sent: list[bytes] = []  # what each queued command was, to name a refused one
        for target, packed in commands:
            if target != db:
                parts.append(encode("SELECT", target))
                sent.append(b"SELECT")
                db = target
            parts.append(packed)
            sent.append(packed)
        parts += [encode("SELECT", self.home), encode("SET", self.key, json.dumps(state))]
        sent += [b"SELECT", b"SET checkpoint"]
        if self.fence is not None:
            parts.append(self.fence.stamp())
            sent += [b"SELECT", b"SET epoch"]
        parts.append(EXEC)
        bulk.send(b"".join(parts), len(sent) + 2)
        replies = bulk.replies()
        self._bulk_db = self.home
        queued, done = replies[1:-1], replies[-1]
        if done is None and self.fence is not None:
            self.fence.lost_race(self.client)
        results = done if isinstance(done, list) else queued
        for what, result in zip(sent, results, strict=False):
            if isinstance(result, bulk.error_type):
                refused = (f"the destination refused a replicated command "
                           f"({_named(what)}): {result}")
                if results is done:  # EXEC ran the rest, the checkpoint with them
                    self.write_checkpoint({**state, "refused": refused})
                raise OperationFailed(refused)
        if not isinstance(done, list):
            raise OperationFailed(f"the destination refused a batch of replicated commands: "
                                  f"{done}")

    def _pipeline(self) -> Pipeline:
        if self._bulk is None:
            self._bulk = Pipeline(Connection(self.url, "turnout-applier-bulk"))
        return self._bulk

    def close(self) -> None:
        self.client.close()
        if self._bulk is not None:
            self._bulk.conn.close()


def _named(packed: bytes) -> str:
    """A command shown by its name and first argument (its key, mostly), not its values."""
    if not packed.startswith(b"*"):
        return packed.decode(errors="replace")
    import hiredis

    reader = hiredis.Reader()
    reader.feed(packed)
    args = reader.gets()
    return " ".join(a.decode(errors="replace") for a in args[:2])
