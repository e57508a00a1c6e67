"""Copying a store into another: the SQLite file of one machine into the PostgreSQL store
that agents on several machines share (`turnout store copy --to URL`).

Rows are copied as stored: URLs keep their sealed passwords, so the machines that use the
new store need the key that sealed them (the same key file, $TURNOUT_SECRET_KEY_FILE).
Everything goes in one transaction of the target, and a task the target already has
stops the copy before anything is written, so a copy is whole or not at all. A task
whose worker runs is refused too: its next writes would go to the old store only.
"""

from __future__ import annotations

from turnout.errors import BadInput
from turnout.store import Store

_TASK_COLUMNS = ("name", "spec", "state", "phase", "error", "delay_s", "position",
                 "changes_applied", "created", "updated", "heartbeat", "capture")
_TABLES = {  # table -> columns copied (events keep their order, not their ids)
    "table_progress": ("task", "source", "dest", "rows_copied", "rows_total", "done"),
    "checkpoints": ("task", "key", "value"),
    "events": ("task", "ts", "level", "message"),
}


def store_info(store: Store | None = None) -> str:
    """Where the store is, fit to print, and its schema version."""
    store = store or Store()
    return f"{store.describe()} (schema version {store.schema_version()})"


def copy_store(to: str, store: Store | None = None) -> list[str]:
    """Copy every task of the SQLite store (under $TURNOUT_HOME) into the store at `to`;
    the names of the tasks copied."""
    source = store or Store(url="")
    if source.url:
        raise BadInput("the store to copy from is the SQLite file under $TURNOUT_HOME: "
                       "unset TURNOUT_STORE (and --store) for the copy")
    return copy_tasks(source, Store(source.home, to))


def copy_tasks(source: Store, target: Store) -> list[str]:
    """Copy every task of `source` into `target`; the names of the tasks copied."""
    names = [r.name for r in source.all_tasks()]
    running = [r.name for r in source.all_tasks() if r.alive]
    if running:
        raise BadInput(f"task(s) {', '.join(running)} still run: `turnout task stop` them "
                       "first, so that no worker writes to the old store after the copy")
    taken = sorted(set(names) & {r.name for r in target.all_tasks()})
    if taken:
        raise BadInput(f"{target.describe()} already has task(s) {', '.join(taken)}: "
                       "nothing was copied (delete them there first)")
    read = source._db()
    with target._tx() as db:
        for name in names:
            row = read.execute(f"SELECT {', '.join(_TASK_COLUMNS)} FROM tasks WHERE name = ?",
                               (name,)).fetchone()
            db.execute(f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(_TASK_COLUMNS))})", tuple(row))
            for table, columns in _TABLES.items():
                order = "id" if table == "events" else source.dialect.added_order
                rows = read.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE task = ? "
                                    f"ORDER BY {order}", (name,)).fetchall()
                if rows:
                    db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                   f"({', '.join('?' * len(columns))})",
                                   [tuple(r) for r in rows])
    for name in names:
        target.add_event(name, "info", f"copied from the store {source.describe()}")
    return names
