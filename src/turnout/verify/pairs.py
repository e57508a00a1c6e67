"""Which source table is compared with which destination table, column by column.

A task's renames and casts decide the pairs; an ad-hoc `verify --source
--dest` pairs tables by name. This is also the schema level of verification:
a destination table or column that is missing, a type that cannot hold the
source's values, a different key or a missing index is reported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from turnout.casts import row_caster
from turnout.engines.base import Engine
from turnout.engines.checksums import Probe
from turnout.engines.forms import PORTABLE, Form, pair_form
from turnout.errors import BadInput
from turnout.filters.rules import RowRule
from turnout.model import Column, Row, Table
from turnout.spec import TaskSpec
from turnout.types import Kind


@dataclass(frozen=True)
class Side:
    """One side of a pair: its engine, its table, and the compared columns as it names them."""

    engine: Engine
    table: Table
    probes: list[Probe]
    key: tuple[str, ...]  # the key's columns here; () for a table without one


@dataclass
class TablePair:
    source: Side
    dest: Side | None  # None when the destination lacks the table
    columns: tuple[str, ...]  # compared columns, by their source names
    forms: tuple[Form, ...]  # how each is spelled for the final, exact comparison
    key_at: tuple[int, ...]  # where the key's columns sit among `columns`
    cast: Callable[[Row], Row] | None = None  # source rows as the destination holds them
    in_db: bool = True  # whether both sides can checksum ranges themselves
    problems: list[str] = field(default_factory=list)
    # a task's --where and --mask on this table: source rows are filtered and masked here,
    # as the copy did, before they are compared (over the compared columns, in their order)
    rule: RowRule | None = None

    @property
    def keyed(self) -> bool:
        return bool(self.key_at)


def task_pairs(spec: TaskSpec, src: Engine, dst: Engine) -> list[TablePair]:
    """The pairs of a task (or of an ad-hoc spec): every selected source table."""
    names = [t for t in src.list_tables() if spec.selects(t)]
    if not names:
        raise BadInput(f"no table of {spec.source_endpoint} matches --tables "
                       f"{' '.join(spec.tables)}: check the patterns")
    return [_with_rule(pair_tables(src, dst, table, spec.dest_table(table)), spec.row_rule(table))
            for table in src.reflect(names)]


def _with_rule(pair: TablePair, rule: RowRule | None) -> TablePair:
    """The pair comparing what the task wrote: the source's rows filtered and masked.

    Masked values are computed in Python, and a hashed key orders the destination's rows
    unlike the source's, so such a pair is compared in Python over the whole table."""
    if rule is None:
        return pair
    return replace(pair, in_db=False, rule=replace(rule, columns=pair.columns))


def pair_tables(src: Engine, dst: Engine, source: Table, expected: Table) -> TablePair:
    """Pair a source table with what the destination holds where `expected` should be."""
    if not dst.table_exists(expected.name):
        side = Side(src, source, [], source.key)
        return TablePair(side, None, (), (), (), problems=[
            f"table {expected.name} is missing on the destination"])
    actual = dst.reflect([expected.name])[0]
    problems: list[str] = []
    pairs: list[tuple[Column, Column]] = []
    for ours, wanted in zip(source.columns, expected.columns, strict=True):
        try:
            theirs = actual.column(wanted.name)
        except KeyError:
            problems.append(f"column {actual.name}.{wanted.name} is missing on the destination")
            continue
        problem = _type_problem(actual.name, ours, theirs, dst.capabilities.text_lengths)
        if problem:
            problems.append(problem)
        pairs.append((ours, theirs))
    problems += _key_problems(expected, actual)
    return _build(src, dst, source, actual, pairs, problems)


def _build(src: Engine, dst: Engine, source: Table, actual: Table,
           pairs: list[tuple[Column, Column]], problems: list[str]) -> TablePair:
    names = tuple(ours.name for ours, _ in pairs)
    forms = tuple(pair_form(ours.type, theirs.type) for ours, theirs in pairs)
    key_at = tuple(names.index(k) for k in source.key) if set(source.key) <= set(names) else ()
    same = src.scheme == dst.scheme
    cast = row_caster(replace(source, columns=tuple(o for o, _ in pairs)),
                      replace(actual, columns=tuple(t for _, t in pairs)))
    in_db = cast is None  # the source spells the original type: compare after the cast, here
    sides: tuple[list[Probe], list[Probe]] = ([], [])
    for (ours, theirs), form in zip(pairs, forms, strict=True):
        if form not in PORTABLE and not same:
            in_db = False
        nullable = ours.nullable or theirs.nullable
        alike = same and ours.type == theirs.type and ours.native_type == theirs.native_type
        sides[0].append(Probe(ours.name, ours.type, form, nullable, alike))
        sides[1].append(Probe(theirs.name, theirs.type, form, nullable, alike))
    key_dest = tuple(pairs[i][1].name for i in key_at)
    return TablePair(
        Side(src, source, sides[0], tuple(source.key) if key_at else ()),
        Side(dst, actual, sides[1], key_dest),
        names, forms, key_at, cast=cast, in_db=in_db, problems=problems,
    )


def _type_problem(table: str, ours: Column, theirs: Column, lengths: bool) -> str | None:
    """Why the destination's column cannot hold what the source's does. `lengths`: whether
    the destination's engine holds text to its declared length."""
    a, b = ours.type, theirs.type
    where = f"column {table}.{theirs.name}"
    if pair_form(a, b) is Form.OTHER and a.kind is not b.kind:
        return f"{where} is {b} but the source's is {a}: they cannot hold the same values"
    if lengths and b.is_text and a.is_text and b.length is not None \
            and (a.length or 1 << 30) > b.length:
        return f"{where} holds {b.length} characters, the source's up to {a.length or 'any'}"
    if a.kind is Kind.DECIMAL and b.kind is Kind.DECIMAL and (a.scale or 0) > (b.scale or 0):
        return f"{where} keeps {b.scale or 0} decimals, the source's {a.scale}"
    return None


def _key_problems(expected: Table, actual: Table) -> list[str]:
    problems: list[str] = []
    if expected.key and tuple(actual.key) != tuple(expected.key):
        shown = ", ".join(actual.key) or "none"
        problems.append(f"table {actual.name} has key ({shown}), the source's is "
                        f"({', '.join(expected.key)})")
    have = {(tuple(i.columns), i.unique) for i in actual.indexes}
    have |= {(tuple(actual.primary_key), True)}
    for index in expected.indexes:
        if (tuple(index.columns), index.unique) not in have:
            kind = "unique key" if index.unique else "index"
            problems.append(f"table {actual.name} lacks the {kind} on "
                            f"({', '.join(index.columns)})")
    return problems
