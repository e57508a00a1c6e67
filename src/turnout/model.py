"""The catalog, the change stream and the task lifecycle, in engine-neutral form.

Everything here is plain data: engines produce and consume it, stages pass it
along, the store saves its JSON form. This module imports nothing else from
turnout but the canonical types and errors. Values no plain Python type holds exactly,
and keys as JSON, are in values.py (re-exported here).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar

from turnout.errors import Fenced
from turnout.types import CanonicalType
from turnout.values import Duration as Duration  # re-exported: values.py holds them
from turnout.values import Geometry as Geometry
from turnout.values import JsonText as JsonText
from turnout.values import Spelled as Spelled
from turnout.values import ZeroDate as ZeroDate
from turnout.values import key_from_json as key_from_json
from turnout.values import key_to_json as key_to_json

Row = tuple[Any, ...]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Default:
    """A column default in terms every engine can write: a literal (its value as text,
    booleans as `true`/`false`), the clock (`timestamp`, `date` or `time`: the moment of
    the insert), or NULL when both are None."""

    literal: str | None = None
    clock: str | None = None


@dataclass(frozen=True)
class Column:
    name: str
    type: CanonicalType
    nullable: bool = True
    default: str | None = None  # SQL expression as the source engine wrote it
    autoincrement: bool = False
    native_type: str = field(default="", compare=False)  # the source's spelling, for messages
    # The whole definition after the name in the source's own SQL (type, collation, default,
    # identity, generation, comment...): what an engine of the same kind recreates verbatim.
    definition: str = field(default="", compare=False)
    # `default` as other engines can write it; None when it has no such form (an expression
    # only the source's engine knows), so the schema step names it in an event instead
    portable_default: Default | None = field(default=None, compare=False)
    # MySQL's `ON UPDATE CURRENT_TIMESTAMP` clause as the source wrote it (no other engine has one)
    on_update: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    # In Table.source_indexes only: the index in the source's own SQL (PostgreSQL: what
    # follows the table in pg_get_indexdef, or pg_get_constraintdef for a constraint; MySQL:
    # the key's line of SHOW CREATE TABLE), and whether it is a constraint rather than an index.
    definition: str = field(default="", compare=False)
    constraint: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    name: str = ""  # the constraint's name; "" where the source has none (SQLite)
    # What else the source says of the key in its own SQL (PostgreSQL: MATCH FULL, DEFERRABLE
    # INITIALLY DEFERRED, NOT VALID), for an engine of the same kind.
    clauses: str = field(default="", compare=False)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()  # secondary indexes and unique keys, built after the data
    foreign_keys: tuple[ForeignKey, ...] = ()
    schema: str | None = None
    origin: str = field(default="", compare=False)  # scheme of the engine that reflected it
    # Columns the database computes, as (place among all columns, column whose `default` is the
    # generation clause as the source wrote it): an engine of the same kind recreates them,
    # others leave them out (their values are not copied either way).
    generated: tuple[tuple[int, Column], ...] = field(default=(), compare=False)
    # CHECK constraints as (name, definition in the source's own SQL): an engine of the same
    # kind recreates them after the data; others cannot be trusted to read the expression.
    checks: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # What an engine of the same kind needs to build the table as the source has it (each in
    # the source's own SQL; other engines go by the canonical fields above):
    # every secondary index and UNIQUE / EXCLUDE constraint in the source's order, with
    # expression, partial and prefix indexes that `indexes` cannot hold,
    source_indexes: tuple[Index, ...] = field(default=(), compare=False)
    primary_key_name: str = field(default="", compare=False)
    # table options (MySQL: what follows the column list; PostgreSQL: ALTER TABLE actions),
    options: str = field(default="", compare=False)
    # comments as (TABLE | COLUMN | INDEX | CONSTRAINT, name, text), the table's own with "",
    comments: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    # the user types its columns use as (name, CREATE statement), dependencies first,
    types: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # the sequences its defaults draw from as (name, options, owning column or ""),
    sequences: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    # what the source has that turnout does not build, one line each, for the task's events,
    # and the source server's kind where one scheme covers two (MySQL and MariaDB write their
    # own SQL differently): the source's SQL is replayed only on a server of the same kind.
    left_out: tuple[str, ...] = field(default=(), compare=False)
    flavor: str = field(default="", compare=False)

    @cached_property  # asked for every captured row; a table never changes once made
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @cached_property
    def key(self) -> tuple[str, ...]:
        """The columns naming a row: the primary key, else a unique key of NOT NULL columns."""
        if self.primary_key:
            return self.primary_key
        for index in self.indexes:
            if index.unique and all(not self.column(c).nullable for c in index.columns):
                return index.columns
        return ()

    @cached_property
    def _key_positions(self) -> tuple[int, ...]:
        names = self.column_names
        return tuple(names.index(c) for c in self.key)

    def key_positions(self) -> tuple[int, ...]:
        return self._key_positions

    def renamed(self, name: str, columns: dict[str, str]) -> Table:
        """This table as it will be called on the other side (table and column renames applied).

        The source's own SQL of indexes and checks names the old columns, so with column
        renames they are left out (plain indexes are still built from `indexes`) and said so.
        """
        if not columns:  # a table's own columns kept: only its name may change
            return self if name == self.name else replace(self, name=name)

        def col(c: str) -> str:
            return columns.get(c, c)

        def cols(cs: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(col(c) for c in cs)

        return replace(
            self,
            name=name,
            columns=tuple(replace(c, name=col(c.name)) for c in self.columns),
            primary_key=cols(self.primary_key),
            indexes=tuple(replace(i, columns=cols(i.columns)) for i in self.indexes),
            foreign_keys=tuple(replace(fk, columns=cols(fk.columns)) for fk in self.foreign_keys),
            checks=() if columns else self.checks,  # expressions name the old columns
            source_indexes=() if columns else self.source_indexes,
            comments=tuple((k, col(n) if k == "COLUMN" else n, t) for k, n, t in self.comments),
            sequences=tuple((s, o, col(c) if c else c) for s, o, c in self.sequences),
            left_out=self.left_out + (self._renames_leave_out() if columns else ()),
        )

    def _renames_leave_out(self) -> tuple[str, ...]:
        plain = {i.name for i in self.indexes}
        return tuple(
            [f"check constraint {n} (renamed columns)" for n, _ in self.checks]
            + [f"index {i.name} (renamed columns)" for i in self.source_indexes
               if i.name not in plain]
            + [f"the own definition of index {i.name} (renamed columns; built on its columns)"
               for i in self.source_indexes if i.name in plain and i.definition]
        )


class Position(ABC):
    """Where a change sits in the source's log. Each engine defines its own kind.

    Positions of one engine are totally ordered; the JSON form carries the
    engine's name so the store can hand it back to the right engine.
    """

    engine: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    @abstractmethod
    def _order(self) -> tuple[Any, ...]: ...

    def to_json(self) -> str:
        return json.dumps({"engine": self.engine, **self.to_dict()}, sort_keys=True)

    def __lt__(self, other: Position) -> bool:
        return self._order() < other._order()

    def __le__(self, other: Position) -> bool:
        return self._order() <= other._order()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Position) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"




class Op(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    TRUNCATE = "truncate"  # every row of the table goes; `key` is () and `after` None
    DDL = "ddl"  # the table's definition changed here; `ddl` says how, `key` is ()


@dataclass(frozen=True)
class Ddl:
    """A change to a table's definition, at its place in the change stream.

    `after` is the table as the source holds it right after the statement (its columns,
    key and indexes), None when the table is gone; `renamed` maps columns the statement
    renamed (old name to new), which a comparison of names alone cannot tell from a drop
    and an add (None when the capture could not tell: a drop beside an add then waits).
    `id` names it for the barrier (the same DDL read twice has the same id).
    """

    id: str
    statement: str
    after: Table | None
    renamed: tuple[tuple[str, str], ...] | None = ()  # None: the capture cannot tell


@dataclass(frozen=True)
class Change:
    """One row change as the source committed it.

    `after` is the full row (column name → value) for inserts and updates and
    None for deletes. An update that moved the key carries the old key in
    `old_key` so the applier deletes it. A TRUNCATE empties the whole table
    at its place in the stream: changes before it no longer matter, those
    after it apply to the empty table.

    A table without a key (Table.key is ()) names its rows by their values:
    `key` is () and `before` is the whole row as it was, for updates and
    deletes, so the applier changes one row holding exactly those values.
    """

    table: str
    op: Op
    key: Key
    after: dict[str, Any] | None
    commit_ts: float
    position: Position
    old_key: Key | None = None
    before: dict[str, Any] | None = None  # the old row, for tables without a key
    ddl: Ddl | None = None  # Op.DDL only
    # Op.TRUNCATE only: the capture's own, before the table's rows logged afresh after a DDL
    # (SQLite, a table without a key), not the application's: on_truncate does not apply
    reloaded: bool = False

    def placed(self, position: Position) -> Change:
        """This change at `position` (a capture learns it at the commit, or the piece): made
        directly, since dataclasses.replace costs several times more, and a catch-up of
        large transactions placed every change once (a sixth of the capture's time)."""
        return Change(self.table, self.op, self.key, self.after, self.commit_ts, position,
                      self.old_key, self.before, self.ddl, self.reloaded)


class TaskState(StrEnum):
    NOT_STARTED = "NotStarted"
    PRECHECKING = "Prechecking"
    MIGRATING = "Migrating"
    PAUSED = "Paused"
    STOPPED = "Stopped"
    COMPLETED = "Completed"
    FAILED = "Failed"


class Phase(StrEnum):
    SCHEMA = "schema"
    FULL = "full"
    INCREMENTAL = "incremental"

    @property
    def label(self) -> str:
        return {
            Phase.SCHEMA: "Schema Migration",
            Phase.FULL: "Full Data Migration",
            Phase.INCREMENTAL: "Incremental Data Migration",
        }[self]


@dataclass
class Session:
    """A client of a database, as `turnout sessions` lists it."""

    id: str
    user: str = ""
    program: str = ""
    client: str = ""
    state: str = ""
    writing: bool = False
    own: bool = False  # one of turnout's own connections
    extra: dict[str, Any] = field(default_factory=dict)


EPOCH_KEY = "epoch"  # the destination checkpoint that fences off older workers
_EPOCHS: dict[str, int] = {}  # owner -> the epoch this process writes under


def write_under(owner: str, epoch: int | None) -> None:
    """Every checkpoint of `owner` this process writes from now on carries `epoch` (None:
    no more fencing): what an agent's worker says once, before its task runs."""
    if epoch is None:
        _EPOCHS.pop(owner, None)
    else:
        _EPOCHS[owner] = epoch


def fenced_off(saved: str | None, epoch: int) -> bool:
    """Whether a batch under `epoch` must commit nothing: the destination's checkpoint was
    written under a newer epoch (`saved`), by the worker that took the task over."""
    return saved is not None and int(saved) > epoch


def taken_over(owner: str, newer: int | str, epoch: int, where: str = "destination") -> Fenced:
    """What a worker whose task was taken over under epoch `newer` says as it stops: the
    `destination` saw the newer epoch (and refuses this worker's batches), or only the
    `store`'s lease has it so far."""
    why = ("the destination refuses its batches" if where == "destination"
           else "its lease is another agent's")
    return Fenced(f"task {owner!r} was taken over under epoch {newer} (this worker's is "
                  f"{epoch}): {why}, so it stops and writes nothing more")


@dataclass(frozen=True)
class Checkpoint:
    """Values a stage writes into the destination in the same transaction as the data.

    `owner` names whose checkpoint it is (a task); engines store it verbatim. `epoch`
    (default: what write_under said for the owner) is checked and saved with the values
    in the same transaction: a batch whose epoch is older than the one saved commits
    nothing (fenced_off), so a paused worker can never overwrite its successor.
    """

    owner: str
    values: dict[str, str]
    epoch: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.epoch is None and self.owner in _EPOCHS:
            object.__setattr__(self, "epoch", _EPOCHS[self.owner])

    def fenced_values(self, saved: str | None) -> dict[str, str]:
        """The values to save, with the epoch; Fenced when the saved epoch is newer."""
        if self.epoch is None:
            return self.values
        if fenced_off(saved, self.epoch):
            raise taken_over(self.owner, str(saved), self.epoch)
        return {**self.values, EPOCH_KEY: str(self.epoch)}

    def fence_row(self) -> tuple[str, str, str]:
        """The epoch row as this worker would write it: each engine inserts it if absent,
        then locks it, first in every transaction that carries the checkpoint. Two
        workers' transactions then queue on that one row before touching any other (no
        deadlock between their rows), and the very first epoch row cannot be written by
        both at once (the second waits on the first's insert, then reads it)."""
        assert self.epoch is not None, "only a fenced checkpoint has an epoch row"
        return (self.owner, EPOCH_KEY, str(self.epoch))
