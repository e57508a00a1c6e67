"""Fencing for Redis destinations: a worker whose task another agent took over writes
nothing more (docs/agents.md, "Leases and fencing").

A replicated command is not idempotent (an INCR applied twice is wrong), so the rule is
stricter than the SQL engines' "a batch under an older epoch commits nothing": a worker
raises the task's epoch key, `_turnout:epoch:<task>`, *before* it reads the checkpoint
(claim), and every later write of its goes in a MULTI/EXEC under WATCH of that key with
the key read first. A successor's claim therefore either comes after a stale worker's
EXEC, and its checkpoint read sees that batch, or makes the stale EXEC fail.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.redis.resp import Pipeline, encode
from turnout.errors import OperationFailed
from turnout.model import taken_over

EPOCH = "_turnout:epoch:{owner}"
# Set the epoch unless a newer one holds it; returns the newer one, or -1.
_CLAIM = """local held = tonumber(redis.call('GET', KEYS[1]) or '-1')
if held > tonumber(ARGV[1]) then return held end
redis.call('SET', KEYS[1], ARGV[1])
return -1"""
# Set the checkpoint KEYS[2] to ARGV[2] unless a newer epoch holds KEYS[1].
_CHECKPOINT = """local held = tonumber(redis.call('GET', KEYS[1]) or '-1')
if held > tonumber(ARGV[1]) then return held end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return -1"""
MULTI = b"*1\r\n$5\r\nMULTI\r\n"
EXEC = b"*1\r\n$4\r\nEXEC\r\n"


class Epoch:
    """The epoch an agent's worker writes under, for one task on one destination whose
    home database (where turnout's own keys live) is `home`."""

    def __init__(self, owner: str, epoch: int, home: int) -> None:
        self.owner, self.epoch, self.home = owner, epoch, home
        self.key = EPOCH.format(owner=owner)

    def claim(self, client: Any) -> None:
        """Raise the task's epoch to this worker's before it reads anything; Fenced when a
        newer one holds it already."""
        client.execute_command("SELECT", self.home)
        self._judge(client.execute_command("EVAL", _CLAIM, 1, self.key, self.epoch))

    def write_checkpoint(self, client: Any, key: str, value: str) -> None:
        """SET the checkpoint `key` unless a newer epoch holds the task; Fenced if one does."""
        client.execute_command("SELECT", self.home)
        self._judge(client.execute_command("EVAL", _CHECKPOINT, 2, self.key, key, self.epoch,
                                           value))

    def watch(self, bulk: Pipeline, then_db: int | None) -> None:
        """WATCH the epoch key on `bulk` and check it, before a MULTI; Fenced (after
        UNWATCH) when a newer epoch holds it. `then_db`: the database the batch after
        expects to be in (None: the home database)."""
        back = [encode("SELECT", then_db)] if then_db is not None and then_db != self.home \
            else []
        bulk.send(encode("SELECT", self.home) + encode("WATCH", self.key)
                  + encode("GET", self.key) + b"".join(back), 3 + len(back))
        held = bulk.replies()[2]
        if held is not None and int(held) > self.epoch:
            bulk.send(encode("UNWATCH"), 1)
            bulk.replies()
            raise taken_over(self.owner, int(held), self.epoch)

    def stamp(self) -> bytes:
        """The commands that end a fenced MULTI: this worker's epoch set in the home
        database (a FLUSHDB of a resumed copy may have taken the key with it)."""
        return encode("SELECT", self.home) + encode("SET", self.key, self.epoch)

    def lost_race(self, client: Any) -> None:
        """After an EXEC that WATCH made fail, nothing of the batch was applied: Fenced when
        a newer epoch holds the task (a successor's claim, the one writer of the key)."""
        client.execute_command("SELECT", self.home)
        held = client.execute_command("GET", self.key)
        if held is not None and int(held) > self.epoch:
            raise taken_over(self.owner, int(held), self.epoch)
        raise OperationFailed(f"the key {self.key} changed while a batch of task "
                              f"{self.owner!r} was applied, so none of it was: was it "
                              "removed by hand? The run starts again from the checkpoint")

    def _judge(self, held: int) -> None:
        if int(held) >= 0:
            raise taken_over(self.owner, int(held), self.epoch)


def saved(client: Any, owner: str, home: int) -> str | None:
    """The epoch the destination holds for `owner`, as the runner compares it (or None)."""
    client.execute_command("SELECT", home)
    raw = client.execute_command("GET", EPOCH.format(owner=owner))
    return raw.decode() if isinstance(raw, bytes) else raw
