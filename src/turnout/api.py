"""The Python API: everything the CLI and the web console can do, and nothing they add.

A facade, and the only module the faces call: each name is defined where its concept
lives (a task's life in tasks/, verification in verify/, switchover, rollback and finish
in switchover/, sessions, accounts and backup in their own modules) and said again here.
Functions take and return plain values (specs, dicts shaped like the CLI's JSON), so every
face renders the same facts. Nothing below imports this module.
"""

from __future__ import annotations

from typing import Any

from turnout.accounts import create as create_account
from turnout.accounts import drop as drop_account
from turnout.accounts import revoke_write
from turnout.backup import TOOLS as BACKUP_TOOLS
from turnout.backup import backup, restore
from turnout.migrate import barrier, setup
from turnout.sessions import end_sessions, sessions, task_sessions
from turnout.store import Store
from turnout.storecopy import copy_store, store_info
from turnout.switchover import back, procedure
from turnout.switchover.abort import abort as switchover_abort
from turnout.switchover.back import finish
from turnout.switchover.procedure import status as switchover_status
from turnout.tasks import (
    ACTIVE,
    SOURCE_CHECK_S,
    create_task,
    delete_task,
    events,
    leftover_slots,
    list_tasks,
    pause_task,
    resume_task,
    run_task,
    start_task,
    start_task_here,
    stop_pending_here,
    stop_task,
    stop_tasks_here,
    task_status,
    wait_caught_up,
    wait_for,
)
from turnout.tasks.agent import agent_list, agent_name, run_agent
from turnout.tasks.orphans import DeadWorkerSweep, notice_dead_workers
from turnout.tasks.settings import set_options, settings
from turnout.verify.run import verify_task, verify_urls

__all__ = [
    "ACTIVE", "BACKUP_TOOLS", "DeadWorkerSweep", "SOURCE_CHECK_S", "backup", "create_account",
    "create_task", "notice_dead_workers",
    "delete_task", "drop_account", "end_sessions", "events", "finish", "leftover_slots",
    "list_tasks", "pause_task", "precheck", "resolve_ddl", "restore", "resume_task",
    "revoke_write", "rollback", "run_task",
    "sessions", "set_options", "settings", "task_ddl", "copy_store", "store_info", "agent_list",
    "agent_name", "run_agent",
    "start_task", "start_task_here", "stop_pending_here", "stop_task", "stop_tasks_here",
    "switchover", "switchover_abort", "switchover_status", "task_sessions", "task_status",
    "verify_task", "verify_urls", "wait_caught_up", "wait_for",
]


def precheck(name: str, store: Store | None = None) -> dict[str, Any]:
    """The task's precheck as a report ({"ok", "problems", "tables"}): setup.precheck."""
    return setup.precheck(store or Store(), name)


def task_ddl(name: str, store: Store | None = None) -> dict[str, Any]:
    """The DDL the task waits at, as `turnout task ddl NAME --json` shows it:
    {"task", "waiting": {"id", "table", "statement", "held", "proposed"} or null}."""
    return {"task": name, "waiting": barrier.waiting(store or Store(), name)}


def resolve_ddl(name: str, how: str, sql: str | None = None,
                store: Store | None = None) -> dict[str, Any]:
    """Let the task past the DDL it waits at (migrate/barrier.py): "apply", "apply-sql"
    (with `sql`) or "skip"; the task goes on when started again."""
    return barrier.resolve(store or Store(), name, how, sql)


def switchover(name: str, store: Store | None = None, say: Any = lambda _: None,
               **options: Any) -> dict[str, Any]:
    """Run (or resume) the switchover of a task; options as switchover.procedure.Options.
    `say(message)` hears each step as it happens (the task's event log keeps them too)."""
    return procedure.switchover(name, store, procedure.Options(**options), say)


def rollback(name: str, store: Store | None = None, say: Any = lambda _: None,
             **options: Any) -> dict[str, Any]:
    """Move the workload back to the source (options as for switchover)."""
    return back.rollback(name, store, procedure.Options(**options), say)
