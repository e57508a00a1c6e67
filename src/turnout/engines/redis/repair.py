"""`turnout verify --repair` for Redis: the reference side's keys written over the other's.

The side repaired gets, for each key verify listed, the reference side's value and
absolute expiry (DUMP + PEXPIRETIME there, RESTORE … REPLACE ABSTTL here, or the
big-key path past big_key_bytes), and loses the keys the reference side does not
hold (DEL). A key that is gone from the reference side by the time it is read is
deleted too: the repair leaves the side as the reference holds it then. The plan is
written to a file first, one line per key, for a person to read; --apply runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from turnout.engines.capabilities import KeyspaceComparison
from turnout.engines.redis.applier import Applier
from turnout.engines.redis.rdb import Entry
from turnout.engines.redis.url import RedisUrl

_BATCH = 500


def _db(name: str) -> int:
    return int(name[2:])  # "db3"


def plan(found: list[KeyspaceComparison], target: str) -> list[tuple[int, int, str, bytes]]:
    """(reference db, repaired db, "copy" or "delete", key) for every key listed."""
    steps = []
    for db in found:
        ref, fix = (_db(db.source), _db(db.dest)) if target == "dest" else \
            (_db(db.dest), _db(db.source))
        copied = db.missing if target == "dest" else db.extra
        dropped = db.extra if target == "dest" else db.missing
        for name in copied + [k for k, _ in db.different]:
            steps.append((ref, fix, "copy", db.raw.get(name, name.encode())))
        for name in dropped:
            steps.append((ref, fix, "delete", db.raw.get(name, name.encode())))
    return steps


def write_plan(steps: list[tuple[int, int, str, bytes]], target: str, path: str) -> Path:
    """The plan as text: redis-cli commands for deletions, a line per key copied."""
    lines = [f"# turnout verify --repair {target}: review, then run with --apply"]
    other = "source" if target == "dest" else "destination"
    for _, fix, what, key in steps:
        shown = key.decode("utf-8", errors="backslashreplace")
        if what == "delete":
            lines.append(f"SELECT {fix}\nDEL {shown!r}")
        else:
            lines.append(f"# db {fix}: RESTORE {shown!r} from the {other}'s DUMP, with its "
                         "absolute expiry (REPLACE ABSTTL)")
    out = Path(path)
    out.write_text("\n".join(lines) + "\n")
    return out


def apply(steps: list[tuple[int, int, str, bytes]], ref_url: RedisUrl, fix_url: RedisUrl,
          big_key_bytes: int) -> int:
    """Carry out `steps`; the keys written or deleted."""
    reader: Any = ref_url.client(0, name="turnout-repair")
    writer = Applier(fix_url, "repair")
    done = 0
    try:
        for start in range(0, len(steps), _BATCH):
            chunk = steps[start:start + _BATCH]
            pipe = reader.pipeline(transaction=False)
            for ref, _, what, key in chunk:
                if what == "copy":
                    pipe.execute_command("SELECT", ref)
                    pipe.execute_command("DUMP", key)
                    pipe.execute_command("PEXPIRETIME", key)
            replies = iter(pipe.execute())
            restores, deletes = [], []
            for _, fix, what, key in chunk:
                payload, expire = None, -1
                if what == "copy":
                    next(replies)
                    payload, expire = next(replies), int(next(replies))
                if payload is None:  # to delete, or gone from the reference side
                    deletes.append((fix, key))
                    continue
                entry = Entry(fix, key, payload, max(expire, 0), "")
                if len(payload) > big_key_bytes:
                    writer.rebuild(fix, entry)
                else:
                    restores.append((fix, entry))
            if restores:
                writer.restore(restores)
            writer.restored()
            for fix, key in deletes:
                writer.client.execute_command("SELECT", fix)
                writer.client.execute_command("DEL", key)
            done += len(chunk)
    finally:
        reader.close()
        writer.close()
    return done
