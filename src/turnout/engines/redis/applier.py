"""Writes into the destination Redis: RESTORE payloads from the RDB, then the command
stream in MULTI/EXEC batches that carry the checkpoint.

The checkpoint is a key, `_turnout:checkpoint:<task>`, in the destination's home database
(the URL's, else 0), set in the same MULTI/EXEC as the batch it follows: after a crash
the destination's own state says where the stream continues, as the SQL engines'
checkpoint row does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from turnout.engines.redis.rdb import Entry
from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed

CHECKPOINT = "_turnout:checkpoint:{owner}"
OWN_PREFIX = b"_turnout:"


class Applier:
    """One connection to the destination, selecting databases inside its own pipelines."""

    def __init__(self, url: RedisUrl, owner: str) -> None:
        self.url = url
        self.home = url.db or 0
        self.key = CHECKPOINT.format(owner=owner)
        self.client: Any = url.client(self.home, name="turnout-applier")

    def read_checkpoint(self) -> dict[str, Any] | None:
        self.client.execute_command("SELECT", self.home)
        raw = self.client.execute_command("GET", self.key)
        return json.loads(raw) if raw else None

    def write_checkpoint(self, state: dict[str, Any]) -> None:
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
            if db == self.home and self.client.execute_command("EXISTS", self.key):
                size -= 1
            if size > 0:
                held.append(db)
        return held

    def empty(self, dbs: Iterable[int]) -> None:
        """Empty `dbs`, for a full copy that starts again (the checkpoint goes with them)."""
        for db in dbs:
            self.client.execute_command("SELECT", db)
            self.client.execute_command("FLUSHDB")

    def restore(self, entries: list[tuple[int, Entry]]) -> None:
        """RESTORE each (destination db, entry) with its absolute expiry, pipelined; an
        existing key is replaced, so a copy started again converges."""
        pipe = self.client.pipeline(transaction=False)
        db = None
        for target, entry in entries:
            if target != db:
                pipe.execute_command("SELECT", target)
                db = target
            pipe.execute_command("RESTORE", entry.key, entry.expire_ms, entry.payload,
                                 "REPLACE", "ABSTTL")
        _raise_first(pipe.execute(raise_on_error=False), "RESTORE")

    def apply(self, commands: list[tuple[int, list[bytes]]], state: dict[str, Any]) -> None:
        """Run the stream's commands (destination db, arguments) and set the checkpoint to
        `state`, in one MULTI/EXEC: both happen or neither does."""
        pipe = self.client.pipeline(transaction=True)
        db = None
        for target, args in commands:
            if target != db:
                pipe.execute_command("SELECT", target)
                db = target
            pipe.execute_command(*args)
        pipe.execute_command("SELECT", self.home)
        pipe.execute_command("SET", self.key, json.dumps(state))
        _raise_first(pipe.execute(raise_on_error=False), "a replicated command")

    def close(self) -> None:
        self.client.close()


def _raise_first(results: list[Any], what: str) -> None:
    for result in results:
        if isinstance(result, Exception):
            raise OperationFailed(f"the destination refused {what}: {result}")
