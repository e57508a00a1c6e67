"""Reading --where and --mask (flags or a task file's [where] and [mask]) into a task.

`TABLE=EXPR` filters a source table's rows (expr.py says what EXPR may say);
`TABLE.COLUMN=MASK` masks a column (masks.py). Both are checked against the
tables themselves at create and precheck (problems()), one line each.
"""

from __future__ import annotations

from turnout.errors import BadInput
from turnout.filters.expr import columns, parse
from turnout.filters.kinds import literal_problems
from turnout.filters.masks import mask_problem, parse_mask, with_length
from turnout.filters.rules import RowRule
from turnout.model import Table


def parse_wheres(items: list[str] | dict[str, str]) -> dict[str, str]:
    """`TABLE=EXPR` per item (split at the first '='), each EXPR parsed here to say what is
    wrong at once; kept as written, since the text is what the task stores."""
    pairs = list(items.items()) if isinstance(items, dict) else [_split(i) for i in items]
    wheres: dict[str, str] = {}
    for table, text in pairs:
        if not table or not str(text).strip():
            raise BadInput(f"--where {table}={text} is incomplete: write TABLE=EXPR, "
                           "like orders=\"status = 'open'\"")
        parse(str(text))
        wheres[table] = str(text).strip()
    return wheres


def parse_masks(items: list[str] | dict[str, str]) -> dict[str, dict[str, str]]:
    """`TABLE.COLUMN=MASK` per item (the last dot splits table from column)."""
    pairs = list(items.items()) if isinstance(items, dict) else [_split(i, "mask") for i in items]
    masks: dict[str, dict[str, str]] = {}
    for target, text in pairs:
        if "." not in target or not text:
            raise BadInput(f"--mask {target}={text} is incomplete: write TABLE.COLUMN=MASK, "
                           "like users.email=hash")
        table, column = target.rsplit(".", 1)
        masks.setdefault(table, {})[column] = str(parse_mask(str(text)))
    return masks


def _split(item: str, what: str = "where") -> tuple[str, str]:
    if "=" not in item:
        form = "TABLE=EXPR" if what == "where" else "TABLE.COLUMN=MASK"
        raise BadInput(f"--{what} {item!r} has no '=': write {form}")
    table, rest = item.split("=", 1)
    return table.strip(), rest.strip()


def row_rule(source: Table, dest: Table, where: str | None,
             masks: dict[str, str]) -> RowRule | None:
    """The table's rule (None: rows go as they are); dest gives the masked columns' lengths."""
    if where is None and not masks:
        return None
    by_name = dict(zip(source.column_names, dest.columns, strict=True))
    return RowRule(
        columns=source.column_names, key=source.key,
        where=parse(where) if where is not None else None,
        masks={c: with_length(parse_mask(m), by_name[c].type) for c, m in masks.items()
               if c in by_name})


def problems(wheres: dict[str, str], masks: dict[str, dict[str, str]],
             plans: list[tuple[Table, Table]]) -> list[str]:
    """Filters and masks naming a table the task does not move or a column it lacks, and
    masks a destination column cannot hold: one line each, naming table.column."""
    moved = {source.name: (source, dest) for source, dest in plans}
    found: list[str] = []
    for table in sorted(set(wheres) | set(masks)):
        if table not in moved:
            found.append(f"--where/--mask name table {table!r}, which the task does not move: "
                         "check the name against --tables")
            continue
        source, dest = moved[table]
        have = set(source.column_names)
        if table in wheres:
            expr = parse(wheres[table])
            found += [f"--where {table}=…: no column {table}.{c} in the source table: "
                      f"its columns are {', '.join(source.column_names)}"
                      for c in sorted(columns(expr) - have)]
            found += literal_problems(table, expr, {c.name: c.type for c in source.columns})
        by_name = dict(zip(source.column_names, dest.columns, strict=True))
        for column, text in sorted(masks.get(table, {}).items()):
            if column not in have:
                found.append(f"--mask {table}.{column}: no column {table}.{column} in the "
                             f"source table: its columns are {', '.join(source.column_names)}")
                continue
            d = by_name[column]
            problem = mask_problem(table, column, parse_mask(text), d.type, d.nullable,
                                   column in source.key)
            if problem:
                found.append(problem)
    return found
