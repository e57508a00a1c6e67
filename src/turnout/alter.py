"""Changes to a table's definition in engine-neutral terms, and which of them are safe.

A DDL statement read from the source arrives as the table's definition after it
(model.Ddl). Comparing that with the definition before gives a short list of
alterations that every engine can carry out in its own dialect (add, drop or
rename a column, widen its type, create or drop an index), and `Held` for
anything else: a narrowing type, a changed key, a column turned NOT NULL. An
alteration that could refuse rows the destination already holds, or lose part
of a value, is never made on turnout's own initiative; it waits at the barrier
(migrate/ddl.py).

The layout JSON keeps a table's columns, key and indexes in the destination's
checkpoint, so a task resumed after a DDL reads the stream with the columns the
stream had at its checkpoint, not the source's present ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from turnout.model import Column, Default, Index, Table
from turnout.types import CanonicalType, Kind


@dataclass(frozen=True)
class AddColumn:
    column: Column


@dataclass(frozen=True)
class DropColumn:
    name: str


@dataclass(frozen=True)
class RenameColumn:
    old: str
    new: str


@dataclass(frozen=True)
class WidenColumn:
    """The column's new type (wider or the same), nullability (NULL where it was NOT NULL,
    or unchanged) and default."""

    column: Column


@dataclass(frozen=True)
class CreateIndex:
    index: Index


@dataclass(frozen=True)
class DropIndex:
    name: str


@dataclass(frozen=True)
class DropTable:
    """The table goes (a DROP TABLE at the source, with the task's on_drop = "apply")."""


@dataclass(frozen=True)
class RenameTable:
    """The table takes a new name (a RENAME TABLE of a moved table at the source)."""

    new: str


@dataclass(frozen=True)
class Held:
    """An alteration turnout does not make by itself; `what` says which and why, `would`
    is the alteration that makes it, proposed to a person at the barrier (if any)."""

    what: str
    would: WidenColumn | DropTable | None = None


Alteration = (AddColumn | DropColumn | RenameColumn | WidenColumn | CreateIndex | DropIndex
              | DropTable | RenameTable | Held)

_INTEGERS = (Kind.INT16, Kind.INT32, Kind.INT64)
_FLOATS = (Kind.FLOAT32, Kind.FLOAT64)


def widens(old: CanonicalType, new: CanonicalType) -> bool:
    """Whether every value of `old` is a value of `new`, unchanged (varchar(10) → varchar(20),
    int32 → int64, decimal(8,2) → decimal(12,2), varchar → text)."""
    if old == new:
        return True
    if old.unsigned != new.unsigned and (old.is_integer or new.is_integer):
        return False
    if old.kind in _INTEGERS and new.kind in _INTEGERS:
        return _INTEGERS.index(new.kind) >= _INTEGERS.index(old.kind)
    if old.kind in _FLOATS and new.kind in _FLOATS:
        return _FLOATS.index(new.kind) >= _FLOATS.index(old.kind)
    if old.kind is Kind.VARCHAR and new.kind is Kind.TEXT:
        return True
    if old.kind is not new.kind:
        return False
    if old.kind in (Kind.VARCHAR, Kind.BINARY):
        return new.length is None or (old.length is not None and new.length >= old.length)
    if old.kind is Kind.DECIMAL:
        return _decimal_widens(old, new)
    if old.kind in (Kind.TIME, Kind.TIMETZ, Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        return (new.precision or 6) >= (old.precision or 6)
    if old.kind is Kind.ENUM:  # labels added at the end keep every stored label's place
        return new.values[:len(old.values)] == old.values
    return False


def _decimal_widens(old: CanonicalType, new: CanonicalType) -> bool:
    if new.precision is None:
        return True  # unbounded numeric
    if old.precision is None:
        return False
    old_scale, new_scale = old.scale or 0, new.scale or 0
    return new_scale >= old_scale and new.precision - new_scale >= old.precision - old_scale


def diff(before: Table, after: Table,
         renamed: tuple[tuple[str, str], ...] | None = ()) -> list[Alteration]:
    """What turns `before` into `after`: renames first, then drops, adds, type changes and
    indexes; a change none of these expresses is `Held`. With `renamed` None (renames not
    known), a column dropped beside one added may be a rename: that waits."""
    out: list[Alteration] = []
    names = {old: new for old, new in renamed or () if old in before.column_names}
    out += [RenameColumn(old, new) for old, new in names.items()]
    was = {names.get(c.name, c.name): c for c in before.columns}
    now = {c.name: c for c in after.columns}
    if renamed is None and set(was) - set(now) and set(now) - set(was):
        out.append(Held(f"columns {', '.join(sorted(set(was) - set(now)))} went and "
                        f"{', '.join(sorted(set(now) - set(was)))} came: a rename or a drop "
                        "and an add, which the capture cannot tell apart"))
    out += [DropColumn(name) for name in was if name not in now]
    out += [AddColumn(c) for name, c in now.items() if name not in was]
    for name, column in now.items():
        if name in was:
            out += _column_change(was[name], column)
    old_key = tuple(names.get(c, c) for c in before.primary_key)
    if old_key != after.primary_key:
        out.append(Held(f"the primary key changes from ({', '.join(old_key)}) to "
                        f"({', '.join(after.primary_key)})"))
    out += _index_changes(before, after, names)
    return out


def _column_change(old: Column, new: Column) -> list[Alteration]:
    """The alteration of one column kept by name: none, a widening, or one that waits."""
    if old.type == new.type and old.nullable == new.nullable and old.default == new.default:
        return []
    if not widens(old.type, new.type):
        return [Held(f"column {new.name} changes type from {old.type} to {new.type}, which "
                     "may not hold every value it held", WidenColumn(new))]
    if old.nullable and not new.nullable:
        return [Held(f"column {new.name} becomes NOT NULL, which rows already copied may "
                     "refuse", WidenColumn(new))]
    return [WidenColumn(new)]


def _index_changes(before: Table, after: Table, names: dict[str, str]) -> list[Alteration]:
    """Indexes dropped and created, by name; one whose columns changed is dropped and
    created again."""
    was = {i.name: replace(i, columns=tuple(names.get(c, c) for c in i.columns))
           for i in before.indexes}
    now = {i.name: i for i in after.indexes}
    out: list[Alteration] = [DropIndex(n) for n, i in was.items()
                             if n not in now or _shape(now[n]) != _shape(i)]
    out += [CreateIndex(i) for n, i in now.items() if n not in was or _shape(was[n]) != _shape(i)]
    return out


def _shape(index: Index) -> tuple[tuple[str, ...], bool]:
    return index.columns, index.unique


def applied(table: Table, alteration: Alteration) -> Table:
    """`table` with one alteration made: what the destination holds once it ran."""
    if isinstance(alteration, AddColumn):
        return replace(table, columns=table.columns + (alteration.column,))
    if isinstance(alteration, DropColumn):
        return replace(table, columns=tuple(c for c in table.columns
                                            if c.name != alteration.name))
    if isinstance(alteration, RenameColumn):
        return table.renamed(table.name, {alteration.old: alteration.new})
    if isinstance(alteration, WidenColumn):
        return replace(table, columns=tuple(alteration.column if c.name == alteration.column.name
                                            else c for c in table.columns))
    if isinstance(alteration, CreateIndex):
        return replace(table, indexes=table.indexes + (alteration.index,))
    if isinstance(alteration, DropIndex):
        return replace(table, indexes=tuple(i for i in table.indexes
                                            if i.name != alteration.name))
    if isinstance(alteration, RenameTable):
        return replace(table, name=alteration.new)
    return table


def describe(alteration: Alteration) -> str:
    """One line for events and `turnout task ddl`."""
    if isinstance(alteration, AddColumn):
        return f"add column {alteration.column.name} {alteration.column.type}"
    if isinstance(alteration, DropColumn):
        return f"drop column {alteration.name}"
    if isinstance(alteration, RenameColumn):
        return f"rename column {alteration.old} to {alteration.new}"
    if isinstance(alteration, WidenColumn):
        return f"alter column {alteration.column.name} to {alteration.column.type}"
    if isinstance(alteration, CreateIndex):
        return f"create index {alteration.index.name} ({', '.join(alteration.index.columns)})"
    if isinstance(alteration, DropIndex):
        return f"drop index {alteration.name}"
    if isinstance(alteration, DropTable):
        return "drop table"
    if isinstance(alteration, RenameTable):
        return f"rename table to {alteration.new}"
    return alteration.what


# layouts in the checkpoint ------------------------------------------------------------------

def layout_to_json(table: Table) -> str:
    """The columns, key and indexes of `table` as text (layout_from_json reads it back)."""
    return json.dumps({
        "columns": [_column_json(c) for c in table.columns],
        "key": list(table.primary_key),
        "indexes": [[i.name, list(i.columns), i.unique] for i in table.indexes],
    })


def layout_from_json(table: Table, text: str) -> Table:
    """`table` (reflected now) with the columns, key and indexes a layout saved."""
    data = json.loads(text)
    columns = tuple(_column_from(c) for c in data["columns"])
    indexes = tuple(Index(n, tuple(cols), bool(u)) for n, cols, u in data["indexes"])
    return replace(table, columns=columns, primary_key=tuple(data["key"]), indexes=indexes,
                   source_indexes=(), checks=())


def _column_json(column: Column) -> dict[str, Any]:
    t = column.type
    default = column.portable_default
    return {
        "name": column.name, "kind": str(t.kind), "length": t.length, "precision": t.precision,
        "scale": t.scale, "unsigned": t.unsigned, "values": list(t.values),
        "nullable": column.nullable, "default": column.default, "auto": column.autoincrement,
        "native": column.native_type, "definition": column.definition,
        "on_update": column.on_update,
        "portable": None if default is None else [default.literal, default.clock],
    }


def _column_from(data: dict[str, Any]) -> Column:
    ctype = CanonicalType(Kind(data["kind"]), data["length"], data["precision"], data["scale"],
                          data["unsigned"], tuple(data["values"]))
    portable = data["portable"]
    return Column(data["name"], ctype, data["nullable"], data["default"], data["auto"],
                  native_type=data["native"], definition=data.get("definition", ""),
                  on_update=data.get("on_update"),
                  portable_default=None if portable is None else Default(*portable))
