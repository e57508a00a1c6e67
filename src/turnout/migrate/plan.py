"""Precheck: which tables move, what they are called on the destination, and what cannot work.

Everything that would fail later is found here and reported at once, one
line per problem with the fix, before anything is written anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

from turnout.alter import layout_from_json
from turnout.casts import row_caster
from turnout.checkpoints import DDL_PENDING, layouts, renamed_tables
from turnout.coalesce import Route
from turnout.engines.base import Engine
from turnout.errors import BadInput, NotFound, Unsupported
from turnout.filters.expr import Expr
from turnout.filters.options import problems as filter_problems
from turnout.filters.pushdown import pushdown
from turnout.filters.rules import RowRule
from turnout.gaps import Gap, problem, refused, row_checker
from turnout.migrate.identifiers import identifier_problems, named
from turnout.model import Column, Phase, Row, Table
from turnout.spec import TaskSpec
from turnout.types import Kind


@dataclass(frozen=True)
class TablePlan:
    source: Table
    dest: Table
    # per source column, the values it may hold that the destination cannot (gaps.py)
    gaps: tuple[frozenset[Gap], ...] = ()
    dest_name: str = "the destination"  # for messages
    rule: RowRule | None = None  # the table's --where and --mask (filters/rules.py)

    @property
    def cast(self) -> Callable[[Row], Row] | None:
        """What rows need on the way: a stop at a value the destination cannot hold, and the
        written form of columns a --cast changed into text."""
        cast = row_caster(self.source, self.dest)
        check = row_checker(self.source, self.gaps, self.dest_name)
        if check is None:
            return cast

        def checked(row: Row) -> Row:
            check(row)
            return row if cast is None else cast(row)

        return checked

    @property
    def route(self) -> Route:
        return Route(dest=self.dest, source_columns=self.source.column_names, cast=self.cast,
                     rule=self.rule)

    @cached_property
    def pushed(self) -> Expr | None:
        """The part of the table's --where the source's SELECT may apply in the full step
        (filters/pushdown.py); shape() still checks every row read."""
        if self.rule is None or self.rule.where is None:
            return None
        return pushdown(self.rule.where, {c.name: c.type.kind for c in self.source.columns})

    def shape(self, rows: list[Row]) -> list[Row]:
        """Source rows as the destination gets them: filtered, masked, then cast."""
        if self.rule is not None:
            rows = self.rule.shape(rows)
        cast = self.cast
        return rows if cast is None else [cast(row) for row in rows]


def build_plan(
    spec: TaskSpec, src: Engine, dst: Engine, *, first_run: bool, slot: str = "",
    saved: dict[str, str] | None = None, known: frozenset[str] = frozenset(),
) -> list[TablePlan]:
    """The plan, and every problem found before anything is written. `saved`: the task's
    checkpoints on the destination, whose layouts (a DDL read since) say which columns the
    change stream has where the task resumes, which may not be the source's present ones,
    and whose renamed tables (a RENAME TABLE followed) say by which names. `known`: the
    source tables the task moved so far (looked for again when missing)."""
    saved = saved or {}
    given, spec = spec, spec.following(renamed_tables(saved))
    names, reflected = _source_tables(src, spec, known)
    # A table the stream has that the source no longer has by that name was renamed or
    # dropped while the task was stopped: planned from its saved layout, since its rows up to
    # there come under that name, and the stream's DDL says what became of it. (One the
    # source has and the stream not yet joins where the stream says: migrate/joining.py.)
    gone = [t for t in layouts(saved) if t not in names]
    if not names and not gone:
        raise BadInput(
            f"no table of {given.source_endpoint} matches --tables {' '.join(given.tables)}"
            + (f" --exclude {' '.join(given.exclude)}" if given.exclude else "")
            + ": check the patterns"
        )
    for old in spec.table_renames:
        if old not in names and old not in gone:
            raise BadInput(f"--rename {old}=… names a table that the task does not move")
    current = {t.name: t.column_names for t in reflected}
    like = reflected[0] if reflected else Table("", (), origin=src.scheme)
    reflected += [Table(t, (), schema=like.schema, origin=like.origin, flavor=like.flavor)
                  for t in gone]
    tables = _as_streamed(reflected, saved)
    problems = filter_problems(spec.where, spec.masks, [(t, spec.dest_table(t)) for t in tables])
    if problems:
        raise BadInput("\n".join(problems))
    planned = [with_gaps(src, dst, TablePlan(t, spec.dest_table(t), rule=spec.row_rule(t)), spec)
               for t in tables]
    dests = named([p.dest for p in planned], dst.naming)
    plans = [replace(p, dest=d) for p, d in zip(planned, dests, strict=True)]
    problems = [p for plan in plans for p in _table_problems(spec, dst, plan)]
    problems += identifier_problems(plans, dst.naming)
    if not problems:  # reading the data is worth it only once the types are right
        # read the source's rows only where it has the columns the stream has (a DDL the
        # stream has not reached yet leaves the rest to the row checks at apply)
        problems += [p for plan in plans
                     if current.get(plan.source.name) == plan.source.column_names
                     for p in _gap_problems(src, plan)]
    if first_run:
        problems += _destination_problems(spec, dst, plans) + dst.write_problems()
        if Phase.SCHEMA in spec.types:
            problems += dst.schema_problems([plan.dest for plan in plans])
        if dst.capabilities.strict_booleans:
            problems += [p for plan in plans for p in _boolean_problems(src, plan)]
    problems += _missing_columns(dst, [p for p in plans if p.source.name not in
                                       _pending(saved) | set(gone)])
    if Phase.INCREMENTAL in spec.types:
        problems += src.capture_problems(slot, [p.source.name for p in plans])
        problems += dst.apply_problems([p.dest.name for p in plans])
    if problems:
        raise Unsupported("\n".join(problems))
    return plans


# how long to look again for a table the task knows that the source's listing lacks: a
# MariaDB ALTER that copies the table swaps its files, and a listing at that moment misses it
LOOK_AGAIN_S = (0.05, 0.1, 0.2, 0.4, 0.8)


def _source_tables(src: Engine, spec: TaskSpec,
                   known: frozenset[str]) -> tuple[list[str], list[Table]]:
    """The selected source tables and their reflections. A known table missing from the
    listing, or gone between listing and reading it, is looked for again a few times before
    it counts as dropped, so that a resume during a source's ALTER sees the table."""
    for wait in (*LOOK_AGAIN_S, None):
        names = [t for t in src.list_tables() if spec.selects(t)]
        if wait is not None and not known.issubset(names):
            time.sleep(wait)
            continue
        try:
            return names, src.reflect(names)
        except NotFound:
            if wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("the last look returns or raises")


def _as_streamed(tables: list[Table], saved: dict[str, str]) -> list[Table]:
    """The tables with the layouts the destination's checkpoints keep (alter.py)."""
    kept = layouts(saved)
    return [layout_from_json(t, kept[t.name]) if t.name in kept else t for t in tables]


def _pending(saved: dict[str, str]) -> set[str]:
    """The table of a DDL whose alterations may be half made (made again before apply)."""
    if not (text := saved.get(DDL_PENDING)):
        return set()
    pending = json.loads(text)
    return {pending["table"], pending.get("to") or pending["table"]}


def with_gaps(src: Engine, dst: Engine, plan: TablePlan, spec: TaskSpec) -> TablePlan:
    """The plan knowing which values of each column the destination cannot hold."""
    gaps = tuple(src.gaps_held(s.type) & refused(d.type, d.nullable, dst.gaps_refused(d.type))
                 for s, d in zip(plan.source.columns, plan.dest.columns, strict=True))
    return replace(plan, gaps=gaps, dest_name=str(spec.dest_endpoint))


def _gap_problems(src: Engine, plan: TablePlan) -> list[str]:
    """An example row for each column holding a value the destination cannot (reads the data)."""
    problems: list[str] = []
    table = plan.source
    if not table.key:  # a row without a key is named by all its values
        table = replace(table, primary_key=table.column_names)
    wanted = [(column.name, gap) for column, gaps in zip(plan.source.columns, plan.gaps,
                                                        strict=True) for gap in sorted(gaps)]
    if wanted:
        for column_name, gap, key in src.find_gaps(table, wanted):
            problems.append(problem(plan.source.name, column_name, gap, key, plan.dest_name))
    return problems


def _table_problems(spec: TaskSpec, dst: Engine, plan: TablePlan) -> list[str]:
    table = plan.source
    problems = []
    for old in spec.dest_columns(table.name):
        if old not in table.column_names:
            problems.append(f"--rename {table.name}.{old}=… names a column {table.name!r} lacks")
    for name in spec.casts.get(table.name, {}):
        if name not in table.column_names:
            problems.append(f"--cast {table.name}.{name}=… names a column {table.name!r} lacks")
    for source_column, dest_column in zip(table.columns, plan.dest.columns, strict=True):
        problem = dst.type_problem(dest_column.type)
        if problem:
            where = f"{table.name}.{source_column.name}"
            problems.append(
                f"{where} ({source_column.native_type or source_column.type}): "
                + problem.replace("TABLE.COLUMN", where)
            )
    return problems


def _boolean_problems(src: Engine, plan: TablePlan) -> list[str]:
    """Boolean columns whose source rows hold other values (MySQL's tinyint(1) read as a
    boolean): found by reading the data, since the type alone allows them."""
    columns = [s for s, d in zip(plan.source.columns, plan.dest.columns, strict=True)
               if s.type.kind is Kind.BOOLEAN and d.type.kind is Kind.BOOLEAN]
    found = src.boolean_problems(plan.source, [c.name for c in columns])
    problems = []
    for column in columns:
        if column.name in found:
            where = f"{plan.source.name}.{column.name}"
            problems.append(f"{where} ({column.native_type or column.type}): "
                            + found[column.name].replace("TABLE.COLUMN", where))
    return problems


def _missing_columns(dst: Engine, plans: list[TablePlan]) -> list[str]:
    """Columns the source has and an existing destination table lacks (say, after DDL), and
    booleans going into an integer column of a destination with real booleans."""
    problems = []
    existing = dst.existing_tables([plan.dest.name for plan in plans])
    for plan in plans:
        if plan.dest.name not in existing:
            continue
        have = {c.name: c for c in dst.reflect([plan.dest.name])[0].columns}
        for source_column, column in zip(plan.source.columns, plan.dest.columns, strict=True):
            if column.name not in have:
                problems.append(
                    f"destination table {plan.dest.name!r} lacks column {column.name!r} that "
                    f"the source has: add it there, or drop it on the source"
                )
            elif (dst.capabilities.strict_booleans and column.type.kind is Kind.BOOLEAN
                  and have[column.name].type.is_integer):
                problems.append(_integer_for_boolean(plan, source_column, have[column.name]))
    return problems


def _integer_for_boolean(plan: TablePlan, source: Column, dest: Column) -> str:
    """A destination made while the source's booleans were read as integers (a MySQL
    tinyint(1) before that became a boolean by default): the two must agree."""
    where = f"{plan.source.name}.{source.name}"
    return (f"{where} ({source.native_type or source.type}) is read as a boolean, but the "
            f"destination has it as {dest.native_type or dest.type}: keep it an integer "
            f"(?tinyint1=int on a MySQL source URL, or --cast {where}=int16)")


def _destination_problems(spec: TaskSpec, dst: Engine, plans: list[TablePlan]) -> list[str]:
    problems = []
    existing = dst.existing_tables([plan.dest.name for plan in plans])
    for plan in plans:
        name = plan.dest.name
        exists = name in existing
        if Phase.FULL in spec.types and exists and dst.has_rows(name):
            problems.append(
                f"destination table {name!r} already holds rows: empty or drop it, "
                f"or leave it out with --exclude {plan.source.name!r}"
            )
        if Phase.SCHEMA not in spec.types and not exists:
            problems.append(
                f"destination table {name!r} does not exist and the task has no schema type: "
                "add schema to --types or create the table"
            )
    return problems
