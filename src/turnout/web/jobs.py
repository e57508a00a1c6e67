"""Work the server runs in a background thread so a request can return at once (verification,
switchover), or runs in the request itself while others watch (rollback, abort, finish).

One job per key (a task name) at a time: the console starts it, polls its progress and reads
its result, which stays until the next run replaces it. The work hears of its job, so it can
report progress per table as (table, rows done, rows in all or None) and say what it does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from turnout.errors import OperationFailed, TurnoutError
from turnout.web.errors import log, redact_text


@dataclass
class Job:
    action: str = "verification"
    state: str = "running"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    tables: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def progress(self, table: str, done: int, total: int | None) -> None:
        self.tables[table] = (done, total)

    def say(self, message: str) -> None:
        """What the work tells a person (api's `say`); kept for pollers, passwords hidden."""
        self.messages.append(redact_text(message))

    def view(self) -> dict[str, Any]:
        """The job as the API shows it, with how long it has run so far."""
        end = self.finished or time.time()
        return {"action": self.action, "state": self.state, "started": self.started,
                "finished": self.finished, "elapsed_s": round(end - self.started, 3),
                "error": self.error, "result": self.result, "messages": list(self.messages),
                "progress": [{"table": name, "rows_done": done, "rows_total": total}
                             for name, (done, total) in list(self.tables.items())]}


Work = Callable[[Job], dict[str, Any]]


class Jobs:
    """Background jobs by key; thread-safe, kept in memory for the life of the server."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: str, work: Work, action: str = "verification") -> Job:
        """Run `work` in a thread; a job already running under `key` is a wrong-state error."""
        job = self._claim(key, action)
        threading.Thread(target=self._run, args=(job, work), name=f"job-{key}",
                         daemon=True).start()
        return job

    def run(self, key: str, work: Work, action: str) -> Job:
        """Run `work` in this thread, visible to pollers meanwhile; its error is raised here
        too, so the caller answers with the right status."""
        job = self._claim(key, action)
        self._run(job, work, reraise=True)
        return job

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._jobs.pop(key, None)

    def _claim(self, key: str, action: str) -> Job:
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.state == "running":
                raise OperationFailed(f"task {key!r} is busy with its {current.action}: wait "
                                      "for it to end")
            job = self._jobs[key] = Job(action)
        return job

    @staticmethod
    def _run(job: Job, work: Work, reraise: bool = False) -> None:
        """Keep the result or a one-line error; a traceback would reach nobody from a thread."""
        state = "failed"  # set last: a poller that sees the state sees the rest
        try:
            job.result = work(job)
            state = "done"
        except TurnoutError as exc:
            job.error = redact_text(str(exc))
            if reraise:
                raise
        except Exception as exc:
            log.exception("%s failed", job.action)
            job.error = redact_text(f"unexpected {type(exc).__name__}: {exc}")
            if reraise:
                raise
        finally:
            job.finished = time.time()
            job.state = state
