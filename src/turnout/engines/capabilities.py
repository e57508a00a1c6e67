"""What an engine can do, as data and as small optional objects.

Each engine class carries a frozen `Capabilities` record, readable without a
connection (`engines.engine_class(scheme).capabilities`), so a caller decides
before it opens anything instead of calling and catching Unsupported. What an
engine does only when it can is an object it hands out or does not
(`Engine.accounts`, `Engine.dumper`), never a method that raises by default.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from turnout.endpoint import Endpoint
from turnout.model import Position


@dataclass(frozen=True)
class Capabilities:
    """One engine class's answers; the defaults are what a server engine does."""

    # Migration accounts (Engine.accounts): least-privilege accounts turnout creates, takes
    # write privileges from and drops. Where there are none, `no_accounts` says why, with
    # {endpoint} standing for the database.
    accounts: bool = False
    no_accounts: str = "{endpoint} has no migration accounts in turnout yet"
    # Whether other sessions can be disconnected (Engine.end_sessions), rolling back their
    # open transactions: how a switchover's --kill-writers ends writers a freeze left open.
    end_sessions: bool = False
    # The engine's own backup tool as messages name it (Engine.dumper); None: turnout's
    # reader is the only way to back it up.
    dump_tool: str | None = None
    # Whether captured changes include rows that ON DELETE CASCADE / SET NULL changed. When
    # they do not (MySQL's binlog), a destination applies deletes with its own foreign keys
    # active, so that it repeats those actions.
    logs_cascades: bool = True
    # Whether several connections may write (build indexes, say) at once. SQLite takes one
    # writer at a time, so there parallel writers would only wait for each other's locks.
    parallel_writes: bool = True
    # Whether adding a foreign key checks the rows already there (PostgreSQL does; MySQL
    # does not with foreign_key_checks off). Such a check can refuse a child row that the
    # replay after the full step has yet to reconcile.
    checks_rows_adding_foreign_keys: bool = True
    # Whether a boolean column holds true and false only (PostgreSQL), where MySQL's
    # tinyint(1) and SQLite's BOOLEAN hold any integer: precheck then reads the source.
    strict_booleans: bool = False
    # The alterations (turnout.alter, by class name) the engine makes by itself while changes
    # flow (Engine.alter); a DDL needing another waits at the barrier (migrate/ddl.py).
    alterations: frozenset[str] = frozenset()
    # Whether the engine holds keys, not tables (Redis): a task then runs the engine's own
    # migration path (Engine.keyspace) instead of the schema, full and incremental steps.
    keyspace: bool = False
    # Whether a text column's declared length limits what it holds. SQLite's does not: a
    # VARCHAR(20) there takes any text, and stays VARCHAR(20) after a widening on the source.
    text_lengths: bool = True

    def why_no_accounts(self, endpoint: Endpoint) -> str:
        """The one-line refusal for an accounts command on `endpoint`."""
        return self.no_accounts.format(endpoint=endpoint)


class Accounts(ABC):
    """Migration accounts on one database (each engine's accounts.py says what every grant
    is for). A task that runs as a superuser can do anything a bug or a typo asks of it;
    these let an administrator give each side an account with only what turnout needs."""

    @abstractmethod
    def create(self, user: str, password: str, role: str) -> list[str]:
        """Create `user` with the least privileges a task's `role` ("source" or "dest") needs
        here; the statements run, with the password shown as ***."""

    @abstractmethod
    def revoke_write(self, user: str) -> list[str]:
        """Take every write privilege from `user` (after switchover, or to keep a finished
        migration's account for verification only); the statements run."""

    @abstractmethod
    def drop(self, user: str) -> list[str]:
        """Remove `user`, handing what it owns to the account of this URL; the statements."""

    @abstractmethod
    def is_superuser(self) -> bool:
        """Whether the URL's own account may do anything here, so a mistake is not contained."""


class Dumper(ABC):
    """The engine's own backup tool (turnout.backup falls back to its reader without one)."""

    @abstractmethod
    def dump(self, tables: list[str], directory: Path) -> dict[str, Any] | None:
        """Back up `tables` into `directory` in one consistent view: {"tool", "files",
        "rows": {table: count}, ...what restore needs}. None when the tool is not installed
        on this machine, so the caller falls back to turnout's own reader."""

    @abstractmethod
    def restore(self, dumped: dict[str, Any], directory: Path, tables: list[str]) -> None:
        """Put back `tables` of what dump() wrote into `directory` (`dumped` is its answer),
        replacing the rows these tables hold here."""


@dataclass(frozen=True)
class KeyspaceReport:
    """Where a key-value migration stands: its phase ("full" or "incremental"), keys copied
    or commands applied, the heartbeat's source time last applied and the position."""

    phase: str
    count: int
    beat_applied: float | None = None
    position: Position | None = None


@dataclass(frozen=True)
class KeyspaceComparison:
    """One database of a key-value pair compared: key counts, and the keys missing on the
    destination, extra there, and different (with what differs: "type", "value", "ttl")."""

    source: str
    dest: str
    keys_source: int
    keys_dest: int
    missing: list[str]
    extra: list[str]
    different: list[tuple[str, tuple[str, ...]]]
    raw: dict[str, bytes] = field(default_factory=dict)  # shown name -> key bytes, to repair


class Keyspace(ABC):
    """A key-value engine's own migration path (capabilities.keyspace): one session copies
    every key, then follows every write, saving its position on the destination."""

    @abstractmethod
    def migrate(self, dest: Endpoint, owner: str, stop: threading.Event,
                progress: Callable[[KeyspaceReport], None], *, follow: bool,
                resnapshot: bool, selects: Callable[[str], bool] | None = None,
                start: Position | None = None, big_key_bytes: int | None = None) -> None:
        """Copy into `dest` (checkpoints named by `owner`), then follow the source until `stop`
        when `follow`; `resnapshot` copies afresh even where a checkpoint says where to go on;
        `selects` names the keys the task copies (None: every key); `start`: copy nothing,
        follow from there (a marker of the source's capture) unless a checkpoint says
        where to go on; a key bigger than `big_key_bytes` is copied in parts (None: the
        engine's default)."""

    @abstractmethod
    def follow_from(self, dest: Endpoint, owner: str, start: Position) -> None:
        """Make `owner`'s next run on `dest` follow the source from `start` (a marker taken
        while nothing but turnout wrote there): what the stream holds before it, the other
        direction's own writes, is never applied again."""

    @abstractmethod
    def compare(self, dest: Endpoint, level: str,
                selects: Callable[[str], bool] | None = None) -> list[KeyspaceComparison]:
        """Compare every key with `dest`'s: counts only at level "count", else each key's
        type, value and expiry too; turnout's own keys left out."""

    @abstractmethod
    def repair(self, dest: Endpoint, found: list[KeyspaceComparison], target: str,
               path: str, apply: bool) -> dict[str, Any]:
        """Make `target` ("dest" or "source") hold what the other side holds for the keys
        `found` lists: the plan written to `path`; carried out when `apply`. The report's
        "repair" entry: target, file, rows (keys), applied."""
