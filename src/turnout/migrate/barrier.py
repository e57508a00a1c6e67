"""The DDL barrier, seen from outside the worker: what waits and how a person lets it go.

A task stopped at a DDL it does not make by itself (migrate/ddl.py) is Paused with
everything before the DDL applied; the store's DDL_WAITING says which DDL, the statement
the source ran and the statements proposed for the destination. One of three answers
lets it go on, recorded by the DDL's id in DDL_RESOLVED so the worker, reading the DDL
again, knows what was done:

- apply: the proposed statements run on the destination now;
- apply-sql: the person's own statements run there instead;
- skip: nothing runs; the task goes on, and rows after the DDL that do not fit the
  destination stop it naming the column.

In each case the task's plan moves to the table's new layout when the DDL is read again.
"""

from __future__ import annotations

from typing import Any

from turnout import checkpoints, engines
from turnout.errors import BadInput
from turnout.store import Store

HOWS = ("apply", "apply-sql", "skip")


def waiting(store: Store, name: str) -> dict[str, Any] | None:
    """The DDL the task waits at ({"id", "table", "statement", "held", "proposed"}), or None."""
    store.get(name)  # NotFound for an unknown task
    found: dict[str, Any] | None = checkpoints.DDL_WAITING.get(store, name)
    return found


def resolve(store: Store, name: str, how: str, sql: str | None = None) -> dict[str, Any]:
    """Answer the waiting DDL; what was run, as {"id", "table", "how", "ran": [...]}."""
    if how not in HOWS:
        raise BadInput(f"unknown answer {how!r}: use one of {', '.join(HOWS)}")
    found = waiting(store, name)
    if found is None:
        raise BadInput(f"task {name!r} waits at no DDL: `turnout task status {name}` says "
                       "where it is")
    ran: list[str] = []
    if how == "apply":
        ran = list(found["proposed"])
        if not ran:
            raise BadInput("no statement is proposed for this DDL: use --apply-sql FILE with "
                           "your own, or --skip")
    elif how == "apply-sql":
        if not sql or not sql.strip():
            raise BadInput("--apply-sql needs a file with the statements to run")
        ran = [sql]
    if ran:
        _run(store, name, ran)
    resolved = checkpoints.DDL_RESOLVED.get(store, name) or {}
    resolved[found["id"]] = "skip" if how == "skip" else "applied"
    checkpoints.DDL_RESOLVED.set(store, name, resolved)
    checkpoints.clear(store, name, checkpoints.DDL_WAITING)
    what = "skipped" if how == "skip" else f"{how}: {'; '.join(' '.join(s.split()) for s in ran)}"
    store.add_event(name, "info", f"DDL on {found['table']} at the barrier {what}")
    return {"id": found["id"], "table": found["table"], "how": how, "ran": ran}


def task_ddl(name: str, store: Store | None = None) -> dict[str, Any]:
    """The DDL the task waits at, as `turnout task ddl NAME --json` shows it:
    {"task", "waiting": {"id", "table", "statement", "held", "proposed"} or null}."""
    return {"task": name, "waiting": waiting(store or Store(), name)}


def resolve_ddl(name: str, how: str, sql: str | None = None,
                store: Store | None = None) -> dict[str, Any]:
    """Let the task past the DDL it waits at: "apply", "apply-sql" (with `sql`) or "skip";
    the task goes on when started again (the faces' form of resolve)."""
    return resolve(store or Store(), name, how, sql)


def _run(store: Store, name: str, statements: list[str]) -> None:
    """Run statements on the task's destination."""
    spec = store.get(name).spec
    dst = engines.connect(spec.dest_endpoint)
    try:
        for statement in statements:
            dst.run_statement(statement)
    finally:
        dst.close()
