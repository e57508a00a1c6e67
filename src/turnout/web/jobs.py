"""Work the server runs in a background thread so a request can return at once (verification).

One job per key (a task name) at a time: the console starts it, polls its progress and reads
its result, which stays until the next run replaces it. The work reports progress per table
as (table, rows done, rows in all or None).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from turnout.errors import OperationFailed, TurnoutError
from turnout.web.errors import log, redact_text

Progress = Callable[[str, int, int | None], None]
Work = Callable[[Progress], dict[str, Any]]


@dataclass
class Job:
    state: str = "running"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    tables: dict[str, tuple[int, int | None]] = field(default_factory=dict)

    def progress(self, table: str, done: int, total: int | None) -> None:
        self.tables[table] = (done, total)

    def view(self) -> dict[str, Any]:
        """The job as the API shows it, with how long it has run so far."""
        end = self.finished or time.time()
        return {"state": self.state, "started": self.started, "finished": self.finished,
                "elapsed_s": round(end - self.started, 3), "error": self.error,
                "result": self.result,
                "progress": [{"table": name, "rows_done": done, "rows_total": total}
                             for name, (done, total) in list(self.tables.items())]}


class Jobs:
    """Background jobs by key; thread-safe, kept in memory for the life of the server."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: str, work: Work) -> Job:
        """Run `work` in a thread; a job already running under `key` is a wrong-state error."""
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.state == "running":
                raise OperationFailed(f"a verification of {key!r} is already running: wait "
                                      "for its result")
            job = self._jobs[key] = Job()
        threading.Thread(target=self._run, args=(job, work), name=f"job-{key}",
                         daemon=True).start()
        return job

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._jobs.pop(key, None)

    @staticmethod
    def _run(job: Job, work: Work) -> None:
        """Keep the result or a one-line error; a traceback would reach nobody from a thread."""
        state = "failed"  # set last: a poller that sees the state sees the rest
        try:
            job.result = work(job.progress)
            state = "done"
        except TurnoutError as exc:
            job.error = redact_text(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the console, not raised
            log.exception("verification failed")
            job.error = redact_text(f"unexpected {type(exc).__name__}: {exc}")
        job.finished = time.time()
        job.state = state

