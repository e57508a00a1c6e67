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
from dataclasses import dataclass
from typing import Any, NoReturn

from turnout.alter import Alteration
from turnout.coalesce import Batch
from turnout.endpoint import Endpoint
from turnout.engines.base import Capabilities, Capture, Engine, SnapshotReader
from turnout.engines.capabilities import Keyspace, KeyspaceComparison, KeyspaceReport
from turnout.engines.checksums import VerifyReader
from turnout.engines.redis.applier import CHECKPOINT
from turnout.engines.redis.sync import Options, Report, db_map, run
from turnout.engines.redis.url import RedisUrl
from turnout.engines.redis.verify import compare_db
from turnout.errors import TransientError, TurnoutError, Unsupported
from turnout.model import Checkpoint, Position, Row, Session, Table
from turnout.types import CanonicalType

NO_ROWS = ("Redis holds keys, not tables: {what} is not done through rows here "
           "(see docs/engines/redis.md)")


@dataclass(frozen=True, eq=False)
class RedisPosition(Position):
    """The source's replication id and offset: the last byte of its stream applied."""

    replid: str
    offset: int
    engine = "redis"

    def to_dict(self) -> dict[str, Any]:
        return {"replid": self.replid, "offset": self.offset}

    def _order(self) -> tuple[Any, ...]:
        return (self.offset,)


class RedisEngine(Engine):
    scheme = "redis"
    capabilities = Capabilities(keyspace=True,
                                no_accounts="{endpoint}: Redis ACL accounts are not built yet")

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
        return RedisPosition(str(data["replid"]), int(data["offset"]))

    @classmethod
    def classify_error(cls, exc: BaseException) -> TurnoutError | None:
        import redis

        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            return TransientError(f"Redis connection lost: {exc}")
        if isinstance(exc, redis.AuthenticationError):
            return Unsupported(f"Redis refused the login: {exc}")
        return None

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
        _refuse("row change capture")

    def apply(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        _refuse("applying row changes")

    def empty_tables(self, names: list[str]) -> None:
        if names:
            _refuse("emptying tables")

    def read_checkpoint(self, owner: str) -> dict[str, str]:
        raw = self.client.get(CHECKPOINT.format(owner=owner))
        return {k: str(v) for k, v in json.loads(raw).items()} if raw else {}

    def drop_checkpoint(self, owner: str) -> None:
        self.client.delete(CHECKPOINT.format(owner=owner))

    def verify_reader(self) -> VerifyReader:
        _refuse("verification by row checksums (per-key verify is not built yet)")

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
        _refuse("freezing writes (the ACL fence is not built yet)")

    def end_sessions(self, ids: list[str]) -> None:
        _refuse("ending sessions")

    def unfreeze(self) -> None:
        pass

    def close(self) -> None:
        self.client.close()


class _RedisKeyspace(Keyspace):
    def __init__(self, source: RedisUrl) -> None:
        self.source = source

    def migrate(self, dest: Endpoint, owner: str, stop: threading.Event,
                progress: Callable[[KeyspaceReport], None], *, follow: bool,
                resnapshot: bool, selects: Callable[[str], bool] | None = None) -> None:
        def report(r: Report) -> None:
            position = RedisPosition(r.replid, r.offset) if r.replid and r.offset is not None \
                else None
            progress(KeyspaceReport(r.phase, r.count, r.beat, position))

        run(self.source, RedisUrl.parse(dest.url), owner, stop,
            Options(resnapshot=resnapshot, follow=follow, progress=report, selects=selects))

    def compare(self, dest: Endpoint, level: str,
                selects: Callable[[str], bool] | None = None) -> list[KeyspaceComparison]:
        """Every database the task maps that holds a key on either side, compared."""
        target = RedisUrl.parse(dest.url)
        pairs = db_map(self.source, target)
        used = _used_dbs(self.source) | {s for s, d in pairs.items() if d in _used_dbs(target)}
        return [compare_db(self.source, target, s, pairs[s], level, selects)
                for s in sorted(used) if s in pairs]


def _used_dbs(url: RedisUrl) -> set[int]:
    """The databases that hold keys (INFO keyspace lists only those)."""
    client = url.client(0, name="turnout-verify")
    try:
        return {int(name[2:]) for name in client.info("keyspace") if name.startswith("db")}
    finally:
        client.close()


def _refuse(what: str) -> NoReturn:
    raise Unsupported(NO_ROWS.format(what=what))
