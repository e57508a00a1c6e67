"""A task's life: created, run, started (a worker process, or a thread of `turnout serve`),
stopped, watched, waited on, deleted.

lifecycle.py changes a task, watch.py reads it (its status in the shape of
`turnout task status --json`, its events, waits), threads.py runs tasks inside this
process, agent.py runs the tasks that should run under leases (`turnout agent`).
turnout.api re-exports these names for the faces; switchover calls them here, below the
facade.
"""

from turnout.tasks.lifecycle import (
    create_task,
    delete_task,
    run_task,
    start_task,
    stop_task,
)
from turnout.tasks.pause import pause_task, resume_task
from turnout.tasks.threads import start_task_here, stop_pending_here, stop_tasks_here
from turnout.tasks.watch import (
    ACTIVE,
    SOURCE_CHECK_S,
    events,
    leftover_slots,
    list_tasks,
    status,
    task_status,
    wait_caught_up,
    wait_for,
    wait_until,
)

__all__ = [
    "ACTIVE", "SOURCE_CHECK_S", "create_task", "delete_task", "events",
    "leftover_slots", "list_tasks", "pause_task", "resume_task", "run_task", "start_task",
    "start_task_here", "status",
    "stop_pending_here", "stop_task", "stop_tasks_here", "task_status", "wait_caught_up",
    "wait_for", "wait_until",
]
