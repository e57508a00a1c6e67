"""The Python API: everything the CLI and the web console can do, and nothing they add.

A facade, and the only module the faces call: each name is defined where its concept
lives (a task's life in tasks/, verification in verify/, switchover, rollback and finish
in switchover/, sessions, accounts and backup in their own modules) and said again here.
Functions take and return plain values (specs, dicts shaped like the CLI's JSON), so every
face renders the same facts. Nothing below imports this module.

Each name is loaded on first use (`__getattr__`, PEP 562) from the module `_HOMES` names:
one CLI command needs one or two of these, and importing every module behind all of them
cost about 0.3 CPU seconds at each start of `turnout` (`turnout verify` loads verification
and the engines it compares, not the store, switchover or backup). Type checkers read the
same names from the imports under TYPE_CHECKING; a unit test keeps both lists alike.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from turnout.accounts import create as create_account
    from turnout.accounts import drop as drop_account
    from turnout.accounts import revoke_write
    from turnout.backup import TOOLS as BACKUP_TOOLS
    from turnout.backup import backup, restore
    from turnout.migrate.barrier import resolve_ddl, task_ddl
    from turnout.sessions import end_sessions, sessions, task_sessions
    from turnout.storecopy import copy_store, store_info
    from turnout.switchover.abort import abort as switchover_abort
    from turnout.switchover.back import finish
    from turnout.switchover.back import rollback_task as rollback
    from turnout.switchover.procedure import status as switchover_status
    from turnout.switchover.procedure import switchover_task as switchover
    from turnout.tasks.agent import agent_list, agent_name, run_agent
    from turnout.tasks.lifecycle import (
        create_task,
        delete_task,
        precheck,
        run_task,
        start_task,
        stop_task,
    )
    from turnout.tasks.orphans import DeadWorkerSweep, notice_dead_workers
    from turnout.tasks.pause import pause_task, resume_task
    from turnout.tasks.settings import set_options, settings
    from turnout.tasks.threads import start_task_here, stop_pending_here, stop_tasks_here
    from turnout.tasks.watch import (
        ACTIVE,
        SOURCE_CHECK_S,
        events,
        leftover_slots,
        list_tasks,
        task_status,
        wait_caught_up,
        wait_for,
    )
    from turnout.verify.run import verify_urls
    from turnout.verify.task import verify_task

# module: the names it gives, each as NAME or NAME=ITS_NAME_THERE
_HOMES: dict[str, tuple[str, ...]] = {
    "turnout.accounts": ("create_account=create", "drop_account=drop", "revoke_write"),
    "turnout.backup": ("BACKUP_TOOLS=TOOLS", "backup", "restore"),
    "turnout.migrate.barrier": ("resolve_ddl", "task_ddl"),
    "turnout.sessions": ("end_sessions", "sessions", "task_sessions"),
    "turnout.storecopy": ("copy_store", "store_info"),
    "turnout.switchover.abort": ("switchover_abort=abort",),
    "turnout.switchover.back": ("finish", "rollback=rollback_task"),
    "turnout.switchover.procedure": ("switchover_status=status", "switchover=switchover_task"),
    "turnout.tasks.agent": ("agent_list", "agent_name", "run_agent"),
    "turnout.tasks.lifecycle": ("create_task", "delete_task", "precheck", "run_task",
                                "start_task", "stop_task"),
    "turnout.tasks.orphans": ("DeadWorkerSweep", "notice_dead_workers"),
    "turnout.tasks.pause": ("pause_task", "resume_task"),
    "turnout.tasks.settings": ("set_options", "settings"),
    "turnout.tasks.threads": ("start_task_here", "stop_pending_here", "stop_tasks_here"),
    "turnout.tasks.watch": ("ACTIVE", "SOURCE_CHECK_S", "events", "leftover_slots",
                            "list_tasks", "task_status", "wait_caught_up", "wait_for"),
    "turnout.verify.run": ("verify_urls",),
    "turnout.verify.task": ("verify_task",),
}
_WHERE: dict[str, tuple[str, str]] = {
    name: (module, there or name)
    for module, names in _HOMES.items()
    for name, _, there in (entry.partition("=") for entry in names)
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """The API's `name`, imported from its home on first use and kept here after."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, there = _WHERE[name]
    value = getattr(importlib.import_module(module), there)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
