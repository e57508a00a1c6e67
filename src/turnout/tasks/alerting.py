"""The task's alerts while its worker runs: one thread watching its status in the store.

Watching the status (rather than hooking each stage) sees what the user would see: the
delay as status shows it, which grows while an apply is stuck and no report comes; the
stray rows the stray-row watch counted; the task's end in Failed. The thread reads the
store once a second, and the alerts go out through alerts.Alerter, so neither the watch
nor a slow webhook holds the worker up. It also reads the task's [alerts] again each time,
so a webhook set or changed while the task runs (`turnout task set`, the console) counts.
"""

from __future__ import annotations

import threading
import time

from turnout.alerts import DELAY, STRAY_WRITES, TASK_FAILED, Alerter, DelayWatch
from turnout.errors import NotFound
from turnout.model import TaskState
from turnout.status import TaskStatus
from turnout.store import Store
from turnout.tasks.watch import status

CHECK_S = 1.0  # how often the watch reads the task's status


class AlertWatch(threading.Thread):
    """Sends task `name`'s alerts until `stop` is set; finish() sends the last ones."""

    def __init__(self, store: Store, name: str, stop: threading.Event,
                 check_s: float = CHECK_S) -> None:
        super().__init__(name=f"alert-watch-{name}", daemon=True)
        self.store, self.name, self.stop, self.check_s = store, name, stop, check_s
        rules = store.get(name).spec.alerts
        self.alerter = Alerter(rules, name, self._said)
        self.delay = DelayWatch(rules)
        self._strays = 0

    @property
    def wanted(self) -> bool:
        return bool(self.alerter.rules.webhook)

    def run(self) -> None:
        while not self.stop.wait(self.check_s):
            try:
                self._reread()
                if self.wanted:
                    self._look(status(self.name, self.store))
            except NotFound:  # deleted under its worker, which stops by itself
                return

    def _reread(self) -> None:
        rules = self.store.get(self.name).spec.alerts
        if rules != self.alerter.rules:
            self.alerter.rules = rules
            self.delay = DelayWatch(rules)

    def _look(self, now: TaskStatus) -> None:
        delay = now.delay_s if now.state is TaskState.MIGRATING else None
        if self.delay.due(delay, time.time()):
            rules = self.alerter.rules
            self.alerter.send(DELAY, f"task {self.name} has been delayed more than "
                              f"{rules.delay_s:g} s for {rules.delay_for_s:g} s: {delay} s now",
                              delay_s=delay, threshold_s=rules.delay_s)
        strays = now.progress.stray_rows
        if strays and strays != self._strays:
            self.alerter.send(STRAY_WRITES, f"{strays} row(s) on the destination of task "
                              f"{self.name} differ from its source although it has caught up: "
                              "written there by someone else?", rows=strays)
        self._strays = strays

    def finish(self, state: str | None) -> None:
        """The worker ended in `state` (None: it raised): alert a failure, and let queued
        alerts go (for a few seconds at most)."""
        self.stop.set()
        if self.ident is not None:
            self.join(self.check_s * 2)
        if state in (TaskState.FAILED.value, None):
            error = self.store.get(self.name).error or "the task failed"
            self.alerter.send(TASK_FAILED, f"task {self.name} failed: {error}", error=error)
        self.alerter.close()

    def _said(self, message: str) -> None:
        """From the delivery thread: the store gives each thread its own connection."""
        self.store.add_event(self.name, "warning", message)


