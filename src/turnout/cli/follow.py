"""Following a task someone else runs: `task status --watch`, and `task run` on a task whose
worker already runs (started by `task start`, an agent or `turnout serve`).

Following only reads the store, so Ctrl-C leaves the worker alone: it ends the view, not
the task (`turnout task stop` does that).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from rich.console import Console
from rich.live import Live

from turnout import api
from turnout.cli.rates import TableRates
from turnout.cli.render import status_view

REFRESH_S = 1.0
MOVING = ("NotStarted", "Prechecking", "Migrating")  # states a worker moves on from


def running_elsewhere(name: str) -> bool:
    """Whether a live worker already runs the task (its status shows a pid)."""
    current = api.task_status(name)
    return current["pid"] is not None and current["state"] in MOVING


def follow(out: Console, name: str) -> dict[str, Any]:
    """Show the task's status, refreshed each second, until Ctrl-C or until the task stops
    moving (stopped, paused, completed, failed); the last status seen."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        current, rates = api.task_status(name, check_source=True), TableRates()
        with Live(status_view(current), console=out, refresh_per_second=4) as live:
            while not stop.wait(REFRESH_S):
                current = api.task_status(name)
                live.update(status_view(current, rates.update(current)))
                if current["state"] not in MOVING:
                    break
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        out.print(f"stopped watching; task [bold]{name}[/] is {current['state']}")
    return current
