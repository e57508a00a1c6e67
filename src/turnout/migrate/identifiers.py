"""Names on the destination: refused when the user must choose (tables, columns), chosen here
when no option could (indexes, foreign keys), the same way on every run of the task.

See naming.py for the rules each engine declares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from turnout.model import Table
from turnout.naming import Naming, Owned, clashes, shortened, unique_names


class Pair(Protocol):
    """A source table and the destination's (plan.TablePlan is one): all this module reads."""

    @property
    def source(self) -> Table: ...

    @property
    def dest(self) -> Table: ...


def identifier_problems(plans: Sequence[Pair], naming: Naming) -> list[str]:
    """Table and column names the destination would cut or merge: one line each, with the
    --rename that fixes it (a name cut short could meet another one late, mid-copy)."""
    problems = []
    for plan in plans:
        name = plan.dest.name
        if naming.too_long(name):
            problems.append(
                f"table {plan.source.name!r}: its name {name!r} is {naming.size(name)} "
                f"{naming.unit()}, {naming.engine} allows {naming.limit}: add "
                f"--rename {plan.source.name}=SHORTER")
        for source_col, col in zip(plan.source.columns, plan.dest.columns, strict=True):
            if naming.too_long(col.name):
                problems.append(
                    f"{plan.source.name}.{source_col.name}: the column name is "
                    f"{naming.size(col.name)} {naming.unit()}, {naming.engine} allows "
                    f"{naming.limit}: add --rename {plan.source.name}.{source_col.name}=SHORTER")
        source_of = dict(zip(plan.dest.column_names, plan.source.column_names, strict=True))
        for group in clashes(list(plan.dest.column_names), naming.fold_columns):
            problems.append(
                f"table {plan.source.name!r}: columns {', '.join(map(repr, group))} would be one "
                f"column on {naming.engine}, where case does not count: add "
                f"--rename {plan.source.name}.{source_of[group[1]]}=OTHER")
    by_dest = {p.dest.name: p.source.name for p in plans}
    for group in clashes(list(by_dest), naming.fold_tables):
        problems.append(
            f"tables {', '.join(repr(by_dest[g]) for g in group)} would be one table on "
            f"{naming.engine}, where case does not count in table names: add "
            f"--rename {by_dest[group[1]]}=OTHER")
    return problems


def named(tables: list[Table], naming: Naming) -> list[Table]:
    """The destination's tables with the index and foreign-key names it takes: the source's
    own where legal there, else deterministic ones (naming.unique_names)."""
    indexes = [Owned(t.name, i.name) for t in tables for i in t.indexes]
    names = [t.name for t in tables] if naming.indexes_per_schema else []
    index_names = iter(unique_names(indexes, naming, naming.indexes_per_schema, names))
    fks = [Owned(t.name, fk.name or _unnamed(t.name, n, fk.ref_table, naming))
           for t in tables for n, fk in enumerate(t.foreign_keys)]
    fk_names = iter(unique_names(fks, naming, naming.foreign_keys_per_schema))
    return [
        replace(
            t,
            indexes=tuple(replace(i, name=next(index_names)) for i in t.indexes),
            foreign_keys=tuple(replace(fk, name=next(fk_names)) for fk in t.foreign_keys),
        )
        for t in tables
    ]


def _unnamed(table: str, n: int, ref_table: str, naming: Naming) -> str:
    """A name for a foreign key the source left unnamed (SQLite's): its table, its place
    and the table it references, so it is the same on every run."""
    digest = hashlib.sha1(ref_table.encode()).hexdigest()[:8]
    return shortened(f"{table}_fk{n}_{digest}", naming)


def renamed_objects(plan: Pair) -> list[str]:
    """What the destination calls by another name than the source did, for the events."""
    moved = [f"index {s.name!r} of {plan.source.name!r} is {d.name!r}"
             for s, d in zip(plan.source.indexes, plan.dest.indexes, strict=True)
             if s.name != d.name]
    moved += [f"foreign key {s.name!r} of {plan.source.name!r} is {d.name!r}"
              for s, d in zip(plan.source.foreign_keys, plan.dest.foreign_keys, strict=True)
              if s.name and s.name != d.name]
    return moved
