"""One Redis → Redis migration: full copy through the replication protocol, then the
command stream, resumable from the checkpoint the destination holds.

Steps: read the checkpoint; with none (or a full copy cut short, or --resnapshot)
PSYNC ? -1, cut the RDB into RESTORE payloads and load them, then save the RDB's
(replid, offset); with one, PSYNC replid offset+1, and when the source can no longer
continue from there (its backlog moved on, or it restarted) refuse with the fix
rather than skip what fell in between. Then apply the stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from turnout.engines.redis import rdb
from turnout.engines.redis.applier import OWN_PREFIX, Applier
from turnout.engines.redis.keyfinder import KeyFinder, selected
from turnout.engines.redis.replica import Replica
from turnout.engines.redis.url import RedisUrl
from turnout.errors import BadInput, OperationFailed

ALL_DBS = range(16)  # Redis's default `databases`
_SKIPPED = {b"PING", b"MULTI", b"EXEC", b"SELECT", b"REPLCONF"}
# What a stream may hold before its first SELECT when a task starts from a marker (the
# database it was in is not known there): the source's own expiries, which the destination
# carries out itself since every key holds its absolute expiry.
_EXPIRIES = {b"DEL", b"UNLINK"}
HEARTBEAT = "_turnout:heartbeat:{owner}"
BEAT_EVERY_S = 1.0
BIG_KEY_BYTES = 64 << 20


@dataclass(frozen=True)
class Report:
    """Where a run stands: keys copied, commands applied, the source's clock in the newest
    heartbeat applied, and the position."""

    phase: str  # "full" or "incremental"
    count: int
    beat: float | None = None
    replid: str | None = None
    offset: int | None = None


Progress = Callable[[Report], None]


@dataclass
class Options:
    """How a run batches and where it reports."""

    restore_batch: int = 2000  # keys per pipelined batch of RESTOREs
    restore_bytes: int = 8 << 20  # and at most about this many payload bytes
    report_every_s: float = 0.5  # how often a full copy reports its count
    big_key_bytes: int = BIG_KEY_BYTES  # a key whose DUMP is bigger is rebuilt in parts
    command_batch: int = 2000
    ack_every_s: float = 1.0
    resnapshot: bool = False
    follow: bool = True  # False: a full copy only
    # An incremental-only task (switchover's reverse task): where to follow from when the
    # destination holds no checkpoint yet, as {"replid", "offset", "db"}; no full copy.
    start: dict[str, Any] | None = None
    selects: Callable[[str], bool] | None = None  # which keys the task copies (None: all)
    progress: Progress = field(default=lambda report: None)


def db_map(source: RedisUrl, dest: RedisUrl) -> dict[int, int]:
    """Source database → destination database: every database to the same number when
    neither URL names one; one database when either does (a number in one URL only is
    that database on both sides), so the reverse task, the URLs swapped, maps it back."""
    if source.db is None and dest.db is None:
        return {db: db for db in ALL_DBS}
    only = source.db if source.db is not None else dest.db
    assert only is not None
    return {only: dest.db if dest.db is not None else only}


def run(source: RedisUrl, dest: RedisUrl, owner: str, stop: threading.Event,
        options: Options | None = None) -> None:
    """Migrate until `stop` is set; every batch applied is checkpointed on the destination."""
    opts = options or Options()
    mapping = db_map(source, dest)
    applier = Applier(dest, owner)
    replica = Replica(source)
    beats = threading.Thread(target=_beat, args=(source, min(mapping), owner, stop),
                             name="turnout-redis-heartbeat", daemon=True)
    try:
        applier.claim()  # an agent's worker: before anything is read (epoch.py)
        state = applier.read_checkpoint()
        if state is None and opts.start is not None:
            state = {"phase": "stream", "db": None, **opts.start}
            _resume(replica, state, source)
        elif opts.resnapshot or state is None or state.get("phase") != "stream":
            state = _full(replica, applier, mapping, fresh=state is None, opts=opts)
        else:
            if state.get("refused"):
                raise OperationFailed(
                    f"{state['refused']}; the rest of its batch was applied, so the stream "
                    "cannot go on from there: put the destination right (it holds a key "
                    "the source does not, of another type?), then start the task again "
                    "with --resnapshot")
            _resume(replica, state, source)
        if not opts.follow:
            return
        beats.start()
        _follow(replica, applier, mapping, state, stop, opts,
                HEARTBEAT.format(owner=owner).encode(), source)
    finally:
        replica.close()
        applier.close()


def _resume(replica: Replica, state: dict, source: RedisUrl) -> None:
    sync = replica.psync(state["replid"], state["offset"] + 1)
    if sync.full:
        raise OperationFailed(
            f"the source {source} can no longer continue from offset {state['offset']} of "
            f"replication id {state['replid']} (its backlog moved past it, or it restarted): "
            "nothing is skipped; start the task again with --resnapshot to copy every key "
            "afresh, and raise repl-backlog-size so a stopped task can catch up")


def _full(replica: Replica, applier: Applier, mapping: dict[int, int], fresh: bool,
          opts: Options) -> dict:
    """Copy every key through one RDB; the checkpoint to follow the stream from."""
    targets = sorted(set(mapping.values()))
    if fresh:
        held = applier.foreign_keys(targets)
        if held:
            raise BadInput(f"destination database(s) {', '.join(map(str, held))} already hold "
                           "keys: empty them (FLUSHDB) or pick other database numbers")
    else:
        applier.empty(targets)  # a copy cut short: what it loaded may since have gone
    applier.write_checkpoint({"phase": "full"})
    opts.progress(Report("full", 0))
    sync = replica.psync()
    batch: list[tuple[int, rdb.Entry]] = []
    size = copied = 0
    last_report = time.monotonic()
    for entry in replica.rdb_entries():
        if entry.db not in mapping or entry.key.startswith(OWN_PREFIX):
            continue
        if opts.selects and not opts.selects(entry.key.decode("utf-8", "backslashreplace")):
            continue
        if len(entry.payload) > opts.big_key_bytes:
            applier.rebuild(mapping[entry.db], entry)
            copied += 1
            continue
        batch.append((mapping[entry.db], entry))
        size += len(entry.payload)
        if len(batch) >= opts.restore_batch or size >= opts.restore_bytes:
            applier.restore(batch)
            copied += len(batch)
            batch, size = [], 0
            if time.monotonic() - last_report >= opts.report_every_s:
                opts.progress(Report("full", copied))
                last_report = time.monotonic()
    replica.ack(sync.offset)
    if batch:
        applier.restore(batch)
        copied += len(batch)
    applier.restored()
    opts.progress(Report("full", copied))
    state = {"phase": "stream", "replid": sync.replid, "offset": sync.offset, "db": None}
    applier.write_checkpoint(state)
    return state


def _unknown_db(name: bytes, offset: int, source: RedisUrl) -> None:
    """A command before the stream said its database: only an expiry may come there."""
    if name.upper() in _EXPIRIES:
        return
    raise OperationFailed(
        f"the stream of {source} has {name.decode(errors='replace')} at offset {offset} "
        "before any SELECT, so its database is unknown: the task started from a marker "
        "while something other than turnout wrote there (was the side fenced?); nothing is "
        "applied: verify both sides, then start the task again with --resnapshot")


def _beat(source: RedisUrl, db: int, owner: str, stop: threading.Event) -> None:
    """Write the heartbeat key on the source every second: the time it carries, read back
    from the stream, is how far behind the destination is. Without the right to write it
    the task still runs, and reports no delay figure."""
    import redis  # the driver is loaded only when a Redis engine is used

    client: Any = source.client(db, name="turnout-heartbeat")
    key = HEARTBEAT.format(owner=owner)
    try:
        while not stop.wait(BEAT_EVERY_S):
            client.execute_command("SET", key, str(int(time.time() * 1000)))
    except redis.RedisError:
        return
    finally:
        client.close()


def _follow(replica: Replica, applier: Applier, mapping: dict[int, int], state: dict,
            stop: threading.Event, opts: Options, beat_key: bytes, source: RedisUrl) -> None:
    """Apply the command stream in MULTI/EXEC batches, each with the checkpoint after it.
    A batch never ends inside one of the source's MULTI blocks, so it is applied whole."""
    offset, db = state["offset"], state.get("db")
    import hiredis  # the driver is loaded only when a Redis engine is used

    pack = hiredis.pack_command
    pending: list[tuple[int, bytes]] = []
    in_multi, applied, last_ack = False, 0, 0.0
    beat: float | None = None  # the source's clock in the last heartbeat read
    finder = KeyFinder(source.client(0, name="turnout-keys")) if opts.selects else None

    def flush() -> None:
        nonlocal pending, applied
        state.update(offset=offset, db=db)
        applier.apply(pending, state)
        applied += len(pending)
        opts.progress(Report("incremental", applied, beat, state["replid"], offset))
        pending = []

    while not stop.is_set():
        for args in replica.commands(0.2):
            # the source sends each command as RESP bulk strings, as pack_command writes
            # it: the same bytes for the destination, and their length moves the offset
            packed = pack(tuple(args))  # type: ignore[arg-type]
            offset += len(packed)
            name = args[0].upper()
            if name == b"SELECT":
                db = int(args[1])
            elif name == b"MULTI":
                in_multi = True
            elif name == b"EXEC":
                in_multi = False
            elif name == b"REPLCONF" and len(args) > 1 and args[1].upper() == b"GETACK":
                replica.ack(state["offset"])
            elif len(args) > 2 and args[1] == beat_key:
                beat = int(args[2]) / 1000 if name == b"SET" else beat
                continue
            elif len(args) > 1 and args[1].startswith(OWN_PREFIX):
                continue  # turnout's markers, checkpoints, fence: never the application's
            elif name not in _SKIPPED and db is None:
                _unknown_db(name, offset, source)
                continue
            if finder and opts.selects and name not in _SKIPPED and \
                    not selected(finder, opts.selects, args):
                continue
            if name not in _SKIPPED and db in mapping:
                pending.append((mapping[db], packed))
            if not in_multi and len(pending) >= opts.command_batch:
                flush()
        if not in_multi and offset != state["offset"]:
            flush()
        if time.monotonic() - last_ack >= opts.ack_every_s:
            replica.ack(state["offset"])
            last_ack = time.monotonic()
