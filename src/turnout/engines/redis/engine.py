"""The Redis engine as turnout's registry sees it: a URL, capabilities, sessions, and the
keyspace path (sync.py) that moves its keys.

The table-shaped methods of Engine describe an empty catalog (Redis has no tables, so
the schema step has nothing to do) or refuse with one line where a caller asks a
Redis for rows; capabilities.keyspace tells the runner to take Engine.keyspace instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NoReturn

from turnout.alter import Alteration
from turnout.checkpoints import POSITION
from turnout.coalesce import Batch
from turnout.endpoint import Endpoint
from turnout.engines.base import Capabilities, Capture, Engine, SnapshotReader
from turnout.engines.capabilities import Keyspace, KeyspaceComparison, KeyspaceReport
from turnout.engines.redis import epoch, fence, repair
from turnout.engines.redis.accounts import RedisAccounts
from turnout.engines.redis.applier import CHECKPOINT, OWN_PREFIX, Applier
from turnout.engines.redis.capture import RedisCapture
from turnout.engines.redis.position import RedisPosition
from turnout.engines.redis.sync import BIG_KEY_BYTES, Options, Report, db_map, run
from turnout.engines.redis.url import RedisUrl
from turnout.engines.redis.verify import compare_db
from turnout.errors import BadInput, TransientError, TurnoutError, Unsupported
from turnout.model import EPOCH_KEY, Checkpoint, Position, Row, Session, Table
from turnout.types import CanonicalType

_SOURCE_NEEDS = (("PSYNC", "?", "-1"), ("REPLCONF", "ACK", "0"), ("INFO", "replication"),
                 ("COMMAND", "INFO", "get"), ("SET", "_turnout:heartbeat:x", "1"))
_DEST_NEEDS = (("RESTORE", "_turnout:x", "0", "x"), ("MULTI",), ("EXEC",), ("SELECT", "0"),
               ("SET", "_turnout:checkpoint:x", "1"), ("FLUSHDB",), ("DBSIZE",))
NO_ROWS = ("Redis holds keys, not tables: {what} is not done through rows here "
           "(see docs/engines/redis.md)")


class RedisEngine(Engine):
    scheme = "redis"
    capabilities = Capabilities(keyspace=True, end_sessions=True, accounts=True)

    def __init__(self, endpoint: Endpoint, *, create: bool = False) -> None:
        super().__init__(endpoint, create=create)
        self.url = RedisUrl.parse(endpoint.url)
        self.client: Any = self.url.client(self.url.db or 0, name="turnout")
        try:
            self.client.ping()
        except Exception as exc:
            found = self.classify_error(exc)
            raise found or exc from None

    @classmethod
    def position_from_dict(cls, data: dict[str, Any]) -> Position:
        return RedisPosition.from_dict(data)

    @classmethod
    def classify_error(cls, exc: BaseException) -> TurnoutError | None:
        import redis

        if isinstance(exc, redis.AuthenticationError):  # a ConnectionError in redis-py
            return Unsupported(f"Redis refused the login: {exc}")
        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            return TransientError(f"Redis connection lost: {exc}")
        if isinstance(exc, redis.exceptions.NoPermissionError):
            return Unsupported(f"Redis refused turnout's account a command: {exc}; grant it "
                               "with ACL SETUSER (docs/engines/redis.md#switchover)")
        return None

    @property
    def accounts(self) -> RedisAccounts:
        """Migration accounts (accounts.py says what the rules allow and why)."""
        return RedisAccounts(self.client, self.endpoint)

    @property
    def keyspace(self) -> Keyspace:
        return _RedisKeyspace(self.url)

    # catalog: none -------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        return []

    def reflect(self, names: list[str]) -> list[Table]:
        return []

    def type_problem(self, ctype: CanonicalType) -> str | None:
        return "Redis has no typed columns"

    def create_table(self, table: Table) -> None:
        _refuse("creating a table")

    def create_indexes(self, table: Table) -> None:
        _refuse("building indexes")

    def alter(self, table: Table, alteration: Alteration) -> str | None:
        _refuse("DDL")

    def alter_statement(self, table: Table, alteration: Alteration) -> str:
        _refuse("DDL")

    def run_statement(self, sql: str) -> None:
        _refuse("running SQL")

    def table_exists(self, name: str) -> bool:
        return False

    def has_rows(self, name: str) -> bool:
        return False

    def snapshot(self, exported: str | None = None) -> AbstractContextManager[SnapshotReader]:
        _refuse("reading a snapshot")

    def load(self, table: Table, rows: list[Row], checkpoint: Checkpoint) -> None:
        _refuse("loading rows")

    def capture(self, tables: list[Table], slot: str) -> Capture:
        """Markers and the backlog only: the task reads the stream in its own session."""
        return RedisCapture(self.url, self.client, slot)

    def apply(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        _refuse("applying row changes")

    def empty_tables(self, names: list[str]) -> None:
        if names:
            _refuse("emptying tables")

    def capture_problems(self, slot: str, tables: list[str] | None = None) -> list[str]:
        """What the source's account may not run of what a task needs there."""
        return fence.missing_rights(self.client, self.endpoint, _SOURCE_NEEDS)

    def write_problems(self) -> list[str]:
        """What the destination's account may not run of what a task needs there."""
        return fence.missing_rights(self.client, self.endpoint, _DEST_NEEDS)

    def read_checkpoint(self, owner: str) -> dict[str, str]:
        """The task's state on this destination; with `position` (a Position's JSON) once
        it follows the stream, as switchover's drain reads it."""
        self.client.execute_command("SELECT", self.url.db or 0)
        raw = self.client.get(CHECKPOINT.format(owner=owner))
        state = json.loads(raw) if raw else {}
        found = {k: str(v) for k, v in state.items()}
        if state.get("phase") == "stream":
            found[POSITION] = RedisPosition(state["replid"], int(state["offset"])).to_json()
        held = epoch.saved(self.client, owner, self.url.db or 0)
        if held is not None:
            found[EPOCH_KEY] = held
        return found

    def drop_checkpoint(self, owner: str) -> None:
        self.client.execute_command("SELECT", self.url.db or 0)
        self.client.delete(CHECKPOINT.format(owner=owner), epoch.EPOCH.format(owner=owner))

    def remove_own_objects(self) -> None:
        """Every `_turnout:` key (heartbeats, markers) in every database but the
        checkpoints and epochs of tasks still there (a deleted task's went with it): another
        task may use this server too, and its heartbeat is written again within a second."""
        kept = (CHECKPOINT.format(owner="").encode(), epoch.EPOCH.format(owner="").encode())
        for db in _used_dbs(self.url):
            self.client.execute_command("SELECT", db)
            own = [k for k in self.client.scan_iter(match=OWN_PREFIX + b"*", count=1000)
                   if not k.startswith(kept)]
            if own:
                self.client.delete(*own)
        self.client.execute_command("SELECT", self.url.db or 0)

    # operations ------------------------------------------------------------------------
    def sessions(self) -> list[Session]:
        """CLIENT LIST, turnout's own connections (named turnout*) marked."""
        found = []
        for client in self.client.client_list():
            name = str(client.get("name", ""))
            found.append(Session(
                id=str(client.get("id", "")), user=str(client.get("user", "")), program=name,
                client=str(client.get("addr", "")), state=str(client.get("cmd", "")),
                writing=str(client.get("flags", "")).find("x") >= 0,  # inside MULTI
                own=name.startswith("turnout"), extra={"db": client.get("db")}))
        return found

    def freeze(self, reason: str, lock: list[str] | None = None) -> bool:
        """The ACL fence (fence.py): every user but turnout's loses its write commands."""
        return fence.freeze(self.client, reason, lock or [])

    def frozen(self) -> bool:
        return fence.frozen(self.client)

    def fence_bypass(self) -> list[str]:
        return fence.bypass(self.client)

    def switchover_problems(self) -> list[str]:
        try:
            bypass = fence.bypass(self.client)
        except BadInput as exc:  # turnout logs in as the default user
            return [str(exc)]
        except Exception:  # noqa: BLE001 - no right to run ACL here: the freeze will say
            return []
        return [f"{self.endpoint}: {entry}: take that right from it, or switch over with "
                "--lock-accounts" for entry in bypass]

    def writers_after_freeze(self) -> list[Session]:
        """Sessions not turnout's whose user the fence does not hold: turnout's own user
        (the application shares it) or one made since."""
        if not self.frozen():
            return [s for s in self.sessions() if not s.own]
        users = fence.can_still_write(self.client)
        return [s for s in self.sessions() if not s.own and s.user in users]

    def end_sessions(self, ids: list[str]) -> None:
        for found in ids:
            try:
                self.client.execute_command("CLIENT", "KILL", "ID", found)
            except Exception as exc:  # noqa: BLE001 - gone already: that is what was asked
                if "No such client" not in str(exc):
                    raise

    def unfreeze(self) -> None:
        fence.unfreeze(self.client)

    def close(self) -> None:
        self.client.close()


class _RedisKeyspace(Keyspace):
    def __init__(self, source: RedisUrl) -> None:
        self.source = source

    def migrate(self, dest: Endpoint, owner: str, stop: threading.Event,
                progress: Callable[[KeyspaceReport], None], *, follow: bool,
                resnapshot: bool, selects: Callable[[str], bool] | None = None,
                start: Position | None = None, big_key_bytes: int | None = None) -> None:
        def report(r: Report) -> None:
            position = RedisPosition(r.replid, r.offset) if r.replid and r.offset is not None \
                else None
            progress(KeyspaceReport(r.phase, r.count, r.beat, position))

        run(self.source, RedisUrl.parse(dest.url), owner, stop,
            Options(resnapshot=resnapshot, follow=follow, progress=report, selects=selects,
                    start=_state(start) if start is not None else None,
                    big_key_bytes=big_key_bytes or BIG_KEY_BYTES))

    def follow_from(self, dest: Endpoint, owner: str, start: Position) -> None:
        applier = Applier(RedisUrl.parse(dest.url), owner)
        try:
            applier.write_checkpoint({"phase": "stream", **_state(start)})
        finally:
            applier.close()

    def compare(self, dest: Endpoint, level: str,
                selects: Callable[[str], bool] | None = None) -> list[KeyspaceComparison]:
        """Every database the task maps that holds a key on either side, compared."""
        target = RedisUrl.parse(dest.url)
        pairs = db_map(self.source, target)
        used = _used_dbs(self.source) | {s for s, d in pairs.items() if d in _used_dbs(target)}
        return [compare_db(self.source, target, s, pairs[s], level, selects)
                for s in sorted(used) if s in pairs]


    def repair(self, dest: Endpoint, found: list[KeyspaceComparison], target: str,
               path: str, apply: bool) -> dict[str, Any]:
        steps = repair.plan(found, target)
        written = repair.write_plan(steps, target, path)
        done = 0
        if apply:
            here, there = self.source, RedisUrl.parse(dest.url)
            ref, fix = (here, there) if target == "dest" else (there, here)
            done = repair.apply(steps, ref, fix, BIG_KEY_BYTES)
        return {"target": target, "file": str(written), "rows": len(steps), "applied": done}


def _state(start: Position) -> dict[str, Any]:
    """A marker as the start of a run's state: {"replid", "offset", "db"}."""
    at = start if isinstance(start, RedisPosition) else RedisPosition.from_dict(
        start.to_dict())
    return {"replid": at.replid, "offset": at.offset, "db": at.db}


def _used_dbs(url: RedisUrl) -> set[int]:
    """The databases that hold keys (INFO keyspace lists only those)."""
    client = url.client(0, name="turnout-verify")
    try:
        return {int(name[2:]) for name in client.info("keyspace") if name.startswith("db")}
    finally:
        client.close()


def _refuse(what: str) -> NoReturn:
    raise Unsupported(NO_ROWS.format(what=what))
