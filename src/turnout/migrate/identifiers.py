"""Names on the destination: refused when the user must choose (tables, columns), chosen here
when no option could (indexes, foreign keys), the same way on every run of the task.

See naming.py for the rules each engine declares.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

from turnout.naming import Naming, Owned, clashes, shortened, unique_names

if TYPE_CHECKING:
    from turnout.migrate.plan import TablePlan


def identifier_problems(plans: list[TablePlan], naming: Naming) -> list[str]:
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


def named(plans: list[TablePlan], naming: Naming) -> list[TablePlan]:
    """The plans with index and foreign-key names the destination takes: the source's own
    where legal there, else deterministic ones (naming.unique_names)."""
    indexes = [Owned(p.dest.name, i.name) for p in plans for i in p.dest.indexes]
    tables = [p.dest.name for p in plans] if naming.indexes_per_schema else []
    index_names = iter(unique_names(indexes, naming, naming.indexes_per_schema, tables))
    fks = [Owned(p.dest.name, fk.name or _unnamed(p.dest.name, n, fk.ref_table, naming))
           for p in plans for n, fk in enumerate(p.dest.foreign_keys)]
    fk_names = iter(unique_names(fks, naming, naming.foreign_keys_per_schema))
    return [
        replace(p, dest=replace(
            p.dest,
            indexes=tuple(replace(i, name=next(index_names)) for i in p.dest.indexes),
            foreign_keys=tuple(replace(fk, name=next(fk_names)) for fk in p.dest.foreign_keys),
        ))
        for p in plans
    ]


def _unnamed(table: str, n: int, ref_table: str, naming: Naming) -> str:
    """A name for a foreign key the source left unnamed (SQLite's): its table, its place
    and the table it references, so it is the same on every run."""
    digest = hashlib.sha1(ref_table.encode()).hexdigest()[:8]
    return shortened(f"{table}_fk{n}_{digest}", naming)


def renamed_objects(plan: TablePlan) -> list[str]:
    """What the destination calls by another name than the source did, for the events."""
    moved = [f"index {s.name!r} of {plan.source.name!r} is {d.name!r}"
             for s, d in zip(plan.source.indexes, plan.dest.indexes, strict=True)
             if s.name != d.name]
    moved += [f"foreign key {s.name!r} of {plan.source.name!r} is {d.name!r}"
              for s, d in zip(plan.source.foreign_keys, plan.dest.foreign_keys, strict=True)
              if s.name and s.name != d.name]
    return moved
