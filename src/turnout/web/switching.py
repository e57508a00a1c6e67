"""Switchover, abort, rollback and finish under /api/tasks/{name}/, and the checklist.

Each calls turnout.api through a job of the task's own (one at a time), so the console can
poll the steps and the messages while it runs. Switchover runs in the background (it waits
out writers, a grace period and a verification); abort, rollback and finish answer when done,
so their refusals come back as status codes, and pollers still see their messages meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter

from turnout import api
from turnout.errors import BadInput, NotFound, OperationFailed
from turnout.store import Store
from turnout.web import models
from turnout.web.jobs import Jobs, Work
from turnout.web.routes import ERRORS, JobsDep, StoreDep, SwitchesDep, TaskName

router = APIRouter(prefix="/api/tasks/{name}", responses=ERRORS, tags=["switchover"])


@router.get("/switchover", response_model=models.SwitchoverStatus)
def switchover_status(name: TaskName, store: StoreDep, switches: SwitchesDep,
                      ) -> dict[str, Any]:
    """The checklist (every step in order, the last one done) and the job with its messages."""
    return checklist(name, store, switches)


@router.post("/switchover", status_code=202, response_model=models.SwitchoverStatus)
def start_switchover(name: TaskName, store: StoreDep, switches: SwitchesDep,
                     body: models.SwitchoverRequest | None = None) -> dict[str, Any]:
    """Run (or resume) the switchover in the background; GET the same path to follow it."""
    api.switchover_status(name, store)  # 404 now rather than a failed job later
    options = (body or models.SwitchoverRequest()).model_dump(exclude_none=True)
    switches.start(name, lambda job: api.switchover(name, store, say=job.say, **options),
                   "switchover")
    return checklist(name, store, switches)


@router.post("/switchover/abort", response_model=models.SwitchoverStatus)
def abort_switchover(name: TaskName, store: StoreDep, switches: SwitchesDep,
                     ) -> dict[str, Any]:
    """Undo a switchover that has not finished: the forward task runs again."""
    run(name, store, switches, "abort",
        lambda job: api.switchover_abort(name, store, say=job.say))
    return checklist(name, store, switches)


@router.post("/rollback", response_model=models.SwitchoverStatus)
def rollback(name: TaskName, store: StoreDep, switches: SwitchesDep,
             body: models.RollbackRequest | None = None) -> dict[str, Any]:
    """After a switchover: move the workload back with nothing lost; answers when done."""
    options = (body or models.RollbackRequest()).model_dump(exclude_none=True)
    run(name, store, switches, "rollback",
        lambda job: api.rollback(name, store, say=job.say, **options))
    return checklist(name, store, switches)


@router.post("/finish", response_model=models.SwitchoverJob)
def finish(name: TaskName, store: StoreDep, switches: SwitchesDep, jobs: JobsDep,
           body: models.FinishRequest | None = None) -> dict[str, Any]:
    """After a switchover: remove turnout from both sides and delete the task and its reverse
    task; the answer is the job, as no task is left to show a checklist for."""
    options = body or models.FinishRequest()
    admins = {"source": options.admin_source, "dest": options.admin_dest}
    job = run(name, store, switches, "finish", lambda job: api.finish(
        name, store, say=job.say, keep_accounts=options.keep_accounts, admins=admins))
    switches.forget(name)  # as DELETE does: a new task of this name starts afresh
    jobs.forget(name)
    return job


def checklist(name: str, store: Store, switches: Jobs) -> dict[str, Any]:
    """api's checklist plus the task's last job: what the console's checklist shows."""
    job = switches.get(name)
    return {**api.switchover_status(name, store),
            "job": job.view() if job else {"state": "idle"}}


def run(name: str, store: Store, switches: Jobs, action: str, work: Work) -> dict[str, Any]:
    """Run `work` as the task's job in this request; the job as it ended."""
    api.switchover_status(name, store)  # 404 for an unknown task, before any other refusal
    with wrong_state():
        return switches.run(name, work, action).view()


@contextmanager
def wrong_state() -> Iterator[None]:
    """turnout.api refuses a rollback or finish before a switchover (an abort after one) as
    BadInput, which is the CLI's exit code 2; for the API it is the task's state, so 409."""
    try:
        yield
    except NotFound:
        raise
    except BadInput as exc:
        raise OperationFailed(str(exc)) from None
