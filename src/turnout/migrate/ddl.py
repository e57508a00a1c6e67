"""DDL read from the source during the incremental step: made on the destination in the
stream's order, or held at a barrier.

A DDL change (model.Ddl) carries the table's definition right after the statement.
Compared with the task's plan for that table (both mapped to the destination's names
and casts), it becomes alterations (alter.py). Those the destination engine makes by
itself (Engine.alterations) are made at once; anything else (a narrowing type, a new
key, a DDL the engine cannot express) stops the task at the barrier with every change
before it applied, until `turnout task ddl` says how to go on.

Crash safety. MySQL commits DDL by itself, so an alteration and its checkpoint cannot
share a transaction. Instead the checkpoint written with the rows before the DDL
already names the table's new layout and, as DDL_PENDING, the layout before: a
restart makes the pending alterations again, each only if the destination's catalog
shows it missing (Engine.alter), and then the DDL's place is passed for good.

Renamed tables. A RENAME TABLE of a moved table is followed: the destination table takes
the new name (unless --rename gave the table a name of its own there, which it keeps), and
the task's options for the table (--rename, casts, filter, masks) follow it. The task's
options are never rewritten: the destination's checkpoint keeps RENAMED_TABLES (the name
the options know a table by -> its name in the stream), written with the rows before the
RENAME, and TaskSpec.following() reads the options through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from turnout.alter import (
    Alteration,
    DropTable,
    Held,
    RenameTable,
    applied,
    describe,
    diff,
    layout_from_json,
    layout_to_json,
)
from turnout.checkpoints import DDL_PENDING, LAYOUT, RENAMED_TABLES
from turnout.coalesce import Route
from turnout.engines.base import Engine
from turnout.errors import OperationFailed, Unsupported
from turnout.migrate.plan import TablePlan, with_gaps
from turnout.model import Ddl, Table
from turnout.spec import TaskSpec


class DdlWaiting(OperationFailed):
    """The task stops at a DDL it does not make by itself; `waiting` says what and how."""

    def __init__(self, message: str, waiting: dict[str, object]) -> None:
        super().__init__(message)
        self.waiting = waiting


@dataclass
class Outcome:
    """What one DDL did on the destination, for the task's events."""

    table: str
    statements: list[str]
    skipped: list[str]


class DdlApplier:
    """Keeps the task's plans (by source table) and routes in step with the stream's DDL."""

    def __init__(self, spec: TaskSpec, src: Engine, dst: Engine, plans: dict[str, TablePlan],
                 routes: dict[str, Route], resolved: dict[str, str],
                 event: Callable[[str, str], None], renamed: dict[str, str] | None = None,
                 moved: Callable[[str, str, str], None] = lambda *_: None) -> None:
        """`spec` is the task's as the store has it and `renamed` the tables the source
        renamed (RENAMED_TABLES); `moved(old, new, dest)` tells the store a table's names."""
        self.base, self.renamed = spec, dict(renamed or {})
        self.spec, self.src, self.dst = spec.following(self.renamed), src, dst
        self.plans, self.routes, self.resolved, self.event = plans, routes, resolved, event
        self.moved = moved

    def _after_rename(self, table: str, ddl: Ddl) -> dict[str, str]:
        """RENAMED_TABLES once the DDL's RENAME is passed (as it is without one)."""
        if ddl.after is None or ddl.after.name == table:
            return self.renamed
        out = dict(self.renamed)
        known = next((k for k, v in out.items() if v == table), table)
        out[known] = ddl.after.name
        return {k: v for k, v in out.items() if k != v}

    def _refused_rename(self, table: str, ddl: Ddl, spec: TaskSpec) -> str | None:
        """Why a RENAME of a moved table cannot be followed, or None when it can."""
        assert ddl.after is not None
        new = ddl.after.name
        if any(fnmatchcase(new, p) for p in self.base.exclude):
            return f"--exclude leaves out {new!r}"
        dest = spec.dest_name(new)
        taken = [p.source.name for t, p in self.plans.items() if t != table and
                 p.dest.name == dest]
        if taken:
            return f"the destination table {dest!r} is the task's table {taken[0]!r}'s"
        return None

    def alterations(self, table: str, ddl: Ddl) -> tuple[Table, list[Alteration]]:
        """The destination table the DDL leads to and the alterations that make it (for a
        new table: none, but a column type the destination cannot hold, which waits)."""
        plan = self.plans.get(table)
        if plan is None:
            return self._new_table(table, ddl)
        if ddl.after is None:
            if self.spec.options.on_drop == "apply":
                return plan.dest, [DropTable()]
            return plan.dest, [Held(f"table {table} is dropped at the source (on_drop = stop: "
                                    "--apply or --skip drops it here, or not)", DropTable())]
        spec = self.base.following(self._after_rename(table, ddl))
        new = spec.dest_table(ddl.after)
        names = spec.dest_columns(ddl.after.name)
        renamed = None if ddl.renamed is None else tuple(
            (names.get(o, o), names.get(n, n)) for o, n in ddl.renamed)
        found = diff(plan.dest, new, renamed)
        if new.name != plan.dest.name:  # first: the rest name the table by its new name
            found = [RenameTable(new.name), *found]
        makes = self.dst.capabilities.alterations
        return new, [a if isinstance(a, Held) or type(a).__name__ in makes
                     else Held(f"{describe(a)}: {self.dst.endpoint} cannot") for a in found]

    def _new_table(self, table: str, ddl: Ddl) -> tuple[Table, list[Alteration]]:
        """A table created on the source that the task's --tables selects."""
        if ddl.after is None:
            return Table(table, ()), []
        new = self.spec.dest_table(ddl.after)
        return new, [Held(f"column {c.name}: {problem.replace('TABLE.COLUMN', c.name)}")
                     for c in new.columns
                     if (problem := self.dst.type_problem(c.type)) is not None]

    def check(self, table: str, ddl: Ddl) -> None:
        """Raise DdlWaiting when the DDL holds an alteration not made by itself and
        `turnout task ddl` has not said how to go on."""
        if ddl.after is not None and ddl.after.name != table and table in self.plans:
            why = self._refused_rename(table, ddl, self.base.following(
                self._after_rename(table, ddl)))
            if why is not None:
                raise OperationFailed(
                    f"table {table!r} was renamed to {ddl.after.name!r} on the source "
                    f"({_short(ddl.statement)[:200]}), and the task cannot follow it: {why}. "
                    "Rename it back on the source and start the task with --resnapshot, or "
                    "delete the task and create one that selects the new name (docs/ddl.md)")
        _, found = self.alterations(table, ddl)
        held = [a for a in found if isinstance(a, Held)]
        if not held or ddl.id in self.resolved:
            return
        proposed = []
        for a in found:
            wanted = a.would if isinstance(a, Held) else a
            try:
                if wanted is not None and table in self.plans:
                    proposed.append(self.dst.alter_statement(self.plans[table].dest, wanted))
            except Unsupported:
                continue  # nothing to propose: the person writes it (--apply-sql)
        waiting: dict[str, object] = {"id": ddl.id, "table": table, "statement": ddl.statement,
                   "held": [a.what for a in held], "proposed": proposed}
        raise DdlWaiting(
            f"DDL on {table!r} waits at the barrier ({'; '.join(a.what for a in held)}): "
            f"see it with turnout task ddl {self.spec.name}, then --apply, --apply-sql FILE "
            "or --skip, and start the task again", waiting)

    def ensure_tables(self) -> None:
        """Create the destination tables a crash left uncreated: a table created on the
        source whose DDL was passed (its rows are logged) but not yet made here."""
        for plan in self.plans.values():
            if not self.dst.table_exists(plan.dest.name):
                self.dst.create_table(plan.dest)
                self.dst.create_indexes(plan.dest)
                self.event("info", f"created table {plan.dest.name} on the destination, which "
                           "a stop had left uncreated")

    def layouts(self) -> dict[str, str]:
        """Every table's layout as the plan has it, for the destination's checkpoint."""
        return {LAYOUT + name: layout_to_json(plan.source) for name, plan in self.plans.items()}

    def pending(self, table: str, ddl: Ddl) -> dict[str, str]:
        """The checkpoint values written with the rows before the DDL: the new layout, and
        the DDL as pending until its alterations are made."""
        plan = self.plans.get(table)
        to = None if ddl.after is None or ddl.after.name == table else ddl.after.name
        values = {DDL_PENDING: json.dumps({
            "table": table, "before": None if plan is None else layout_to_json(plan.source),
            "renamed": None if ddl.renamed is None else [list(r) for r in ddl.renamed],
            "id": ddl.id, "drop": ddl.after is None, "to": to,
            "dest": None if plan is None else plan.dest.name})}
        if ddl.after is not None:
            values[LAYOUT + ddl.after.name] = layout_to_json(ddl.after)
        if ddl.after is None or to is not None:  # the stream has the table no more by this name
            values[LAYOUT + table] = ""
        if to is not None:
            values[RENAMED_TABLES] = json.dumps(self._after_rename(table, ddl))
        return values

    def apply(self, table: str, ddl: Ddl) -> Outcome:
        """Make the DDL's alterations (those a resolution did not take over) and move the
        plan to the table's new layout (and name)."""
        new, found = self.alterations(table, ddl)
        how = self.resolved.get(ddl.id)
        statements, skipped = [], []
        renaming = ddl.after is not None and ddl.after.name != table
        if ddl.after is not None and not renaming and not self.dst.table_exists(new.name):
            self.dst.create_table(new)  # a new table, or one a crash left uncreated
            self.dst.create_indexes(new)
            statements.append(f"created table {new.name} ({', '.join(new.column_names)})")
            self.plans.pop(table, None)
            found = [a for a in found if isinstance(a, Held)]
        current = self.plans[table].dest if table in self.plans else new
        for alteration in found:
            if isinstance(alteration, Held) or how == "applied":
                skipped.append(describe(alteration))
                continue
            sql = self.dst.alter(current, alteration)
            current = applied(current, alteration)
            if sql is not None:
                statements.append(sql)
        if renaming:
            assert ddl.after is not None
            self.renamed = self._after_rename(table, ddl)
            self.spec = self.base.following(self.renamed)
            self.plans.pop(table, None)
            self.routes.pop(table, None)
            self.moved(table, ddl.after.name, new.name)
        if ddl.after is not None:
            plan = with_gaps(self.src, self.dst, TablePlan(
                ddl.after, new, rule=self.spec.row_rule(ddl.after)), self.spec)
            self.plans[ddl.after.name] = plan
            self.routes[ddl.after.name] = plan.route
        else:  # the table is gone: its changes end here
            self.plans.pop(table, None)
            self.routes.pop(table, None)
        return Outcome(table, statements, skipped)

    def finish_pending(self, text: str) -> Outcome | None:
        """After a restart: make again what a pending DDL (its checkpoint value) asked for;
        the plan already has the new layout."""
        if not text:
            return None
        data = json.loads(text)
        table = data["table"]
        if data.get("drop") and self.spec.options.on_drop == "apply":
            dropped = Table(self.spec.dest_name(table), ())
            sql = self.dst.alter(dropped, DropTable()) if self.dst.table_exists(dropped.name) \
                else None
            return Outcome(table, [sql] if sql else [], [])
        to = data.get("to") or table
        if to not in self.plans:
            return None
        after = self.plans[to].source
        if data["before"] is None:  # a new table: created if a crash left it uncreated
            return self.apply(table, Ddl(data.get("id", ""), "", after, ()))
        before = layout_from_json(after, data["before"])  # named as the stream has it now
        dest = self.spec.dest_table(before)
        if to != table:  # a RENAME: RENAMED_TABLES has it already; the destination may not
            known = next((k for k, v in self.renamed.items() if v == to), to)
            self.renamed = {k: v for k, v in self.renamed.items() if k != known}
            if known != table:  # as before the RENAME, which apply() passes again
                self.renamed[known] = table
            before, dest = replace(before, name=table), replace(dest, name=data["dest"])
        renamed = None if data["renamed"] is None else tuple(tuple(r) for r in data["renamed"])
        self.plans[table] = with_gaps(self.src, self.dst, TablePlan(before, dest), self.spec)
        ddl = Ddl(data.get("id", ""), "", after, renamed)  # type: ignore[arg-type]
        return self.apply(table, ddl)

    def report(self, ddl: Ddl, outcome: Outcome) -> None:
        """An event naming the DDL and what it did on the destination."""
        done = "; ".join(outcome.statements) or "nothing left to do"
        text = f"DDL on {outcome.table}: {_short(ddl.statement)} -> {done}"
        if outcome.skipped:
            text += f" (not made here: {'; '.join(outcome.skipped)})"
        self.event("info", text)


def _short(statement: str) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= 300 else flat[:300] + "…"
