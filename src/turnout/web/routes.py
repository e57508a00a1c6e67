"""The REST API under /api/: each route parses, calls turnout.api, and returns what it got.

Routes are plain (not async) functions: turnout.api blocks (a stop waits for the batch in
flight), so FastAPI runs them in its thread pool and the server stays responsive.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from turnout import api
from turnout.alerts import AlertRules
from turnout.errors import BadInput, NotFound, TurnoutError
from turnout.model import Session
from turnout.spec import Options, TaskSpec, spec_from_flags
from turnout.store import Store
from turnout.web import models
from turnout.web.errors import redact_text
from turnout.web.jobs import Jobs

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Message, "description": "bad input"},
    401: {"model": models.Message, "description": "missing or wrong token"},
    404: {"model": models.Message, "description": "unknown task"},
    409: {"model": models.Message, "description": "wrong state for this action"},
}

router = APIRouter(prefix="/api", responses=ERRORS)

TaskName = Annotated[str, Path(description="the task's name")]
Side = Annotated[Literal["source", "dest"], Path(description="which of the task's databases")]


def get_store(request: Request) -> Store:
    """The server's one store: it is thread-safe, and opening one per request would write."""
    store: Store = request.app.state.store
    return store


def get_jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


def get_switches(request: Request) -> Jobs:
    """The switchover family's jobs: apart from verifications, which may run beside them."""
    switches: Jobs = request.app.state.switches
    return switches


StoreDep = Annotated[Store, Depends(get_store)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
SwitchesDep = Annotated[Jobs, Depends(get_switches)]


# tasks -------------------------------------------------------------------


@router.get("/tasks", response_model=list[models.TaskStatus], tags=["tasks"])
def list_tasks(store: StoreDep) -> list[dict[str, Any]]:
    """Every task with its state, phase, delay and per-table progress."""
    return api.list_tasks(store)


@router.get("/agents", response_model=list[models.Agent], tags=["tasks"])
def list_agents(store: StoreDep) -> list[dict[str, Any]]:
    """The agents the store knows (`turnout agent list`), alive or not, and their tasks."""
    return api.agent_list(store)


@router.post("/tasks", status_code=201, response_model=models.TaskStatus, tags=["tasks"])
def create_task(body: models.TaskCreate, store: StoreDep) -> dict[str, Any]:
    """Define a task, as `turnout task create` does; both URLs are tried first."""
    try:
        spec = build_spec(body)
        return api.create_task(spec, store)
    except TurnoutError as exc:  # a missing file or an unreachable server: bad input here
        raise BadInput(str(exc)) from None


def build_spec(body: models.TaskCreate) -> TaskSpec:
    """The request as the CLI's flags would give it, plus the task file's [options]."""
    spec = spec_from_flags(body.name, body.source, body.dest, body.tables, body.exclude,
                           body.rename, ",".join(body.types), body.cast, body.where, body.mask)
    chosen = {k: v for k, v in body.options.model_dump().items() if v is not None}
    spec = replace(spec, alerts=AlertRules(**body.alerts.model_dump()))
    return replace(spec, options=Options(**chosen)) if chosen else spec


@router.get("/tasks/{name}", response_model=models.TaskStatus, tags=["tasks"])
def get_task(name: TaskName, store: StoreDep,
             check_source: Annotated[bool, Query(
                 description="also look for leftover replication slots (costs a connection)",
             )] = False) -> dict[str, Any]:
    """The task as `turnout task status --json` shows it."""
    return api.task_status(name, store, check_source=check_source)


@router.delete("/tasks/{name}", response_model=models.Deleted, tags=["tasks"])
def delete_task(name: TaskName, store: StoreDep, jobs: JobsDep, switches: SwitchesDep,
                force: Annotated[bool, Query(
                    description="forget the task even if a side cannot be cleaned")] = False,
                ) -> dict[str, str]:
    """Stop the task, remove its triggers / change log / checkpoints, and forget it."""
    api.delete_task(name, store, force=force)
    jobs.forget(name)
    switches.forget(name)
    return {"deleted": name}


@router.post("/tasks/{name}/start", response_model=models.TaskStatus, tags=["tasks"])
def start_task(name: TaskName, store: StoreDep,
               body: models.StartRequest | None = None) -> dict[str, Any]:
    """Run the task in this server's process; 409 if it already runs."""
    api.start_task_here(name, store, resnapshot=bool(body and body.resnapshot))
    return api.task_status(name, store)


@router.get("/tasks/{name}/ddl", response_model=models.DdlWaiting, tags=["tasks"])
def task_ddl(name: TaskName, store: StoreDep) -> dict[str, Any]:
    """The DDL the task waits at (docs/ddl.md), or `waiting: null`."""
    return api.task_ddl(name, store)


@router.post("/tasks/{name}/ddl", response_model=models.DdlResolved, tags=["tasks"])
def resolve_ddl(name: TaskName, body: models.DdlAnswer, store: StoreDep) -> dict[str, Any]:
    """Let the task past the DDL it waits at, then run it again in this server's process."""
    done = api.resolve_ddl(name, body.how, body.sql, store=store)
    api.start_task_here(name, store)
    return done


@router.post("/tasks/{name}/stop", response_model=models.TaskStatus, tags=["tasks"])
def stop_task(name: TaskName, store: StoreDep) -> dict[str, Any]:
    """Stop the task after the batch it is applying; a task that is not running stays as is."""
    return api.stop_task(name, store)


@router.post("/tasks/{name}/pause", response_model=models.TaskStatus, tags=["tasks"])
def pause_task(name: TaskName, store: StoreDep) -> dict[str, Any]:
    """Stop the task after its batch but keep its capture position: Paused; 400 if it does
    not run."""
    return api.pause_task(name, store)


@router.post("/tasks/{name}/resume", response_model=models.TaskStatus, tags=["tasks"])
def resume_task(name: TaskName, store: StoreDep) -> dict[str, Any]:
    """Run a Paused task again in this server's process, from its checkpoint; 400 if it is
    not Paused."""
    api.resume_task(name, store, here=True)
    return api.task_status(name, store)


@router.get("/tasks/{name}/events", response_model=list[models.Event], tags=["tasks"])
def task_events(name: TaskName, store: StoreDep,
                after: Annotated[int, Query(ge=0, description="only events after this id")] = 0,
                ) -> list[dict[str, Any]]:
    """The task's event log (the newest 200 after `after`), oldest first."""
    entries = api.events(name, after_id=after, store=store)
    return [{**e, "message": redact_text(e["message"])} for e in entries if e["level"] != "debug"]


@router.post("/tasks/{name}/precheck", response_model=models.Precheck, tags=["tasks"])
def precheck(name: TaskName, store: StoreDep) -> dict[str, Any]:
    """Run the precheck now: every problem that would stop the task, one line each."""
    result = api.precheck(name, store)
    return {**result, "problems": [redact_text(p) for p in result["problems"]]}


# verification ------------------------------------------------------------


@router.post("/tasks/{name}/verify", status_code=202, response_model=models.VerifyJob,
             tags=["verify"])
def start_verify(name: TaskName, store: StoreDep, jobs: JobsDep,
                 body: models.VerifyRequest | None = None) -> dict[str, Any]:
    """Compare source and destination in the background; GET the same path for the result."""
    store.get(name)  # 404 now rather than a failed job later
    options = (body or models.VerifyRequest()).model_dump()
    return jobs.start(name, lambda job: api.verify_task(
        name, store=store, progress=job.progress, say=job.say, **options)).view()


@router.get("/tasks/{name}/verify", response_model=models.VerifyJob, tags=["verify"])
def verify_status(name: TaskName, store: StoreDep, jobs: JobsDep) -> dict[str, Any]:
    """The verification's progress, then its result with the differing keys per table."""
    store.get(name)
    job = jobs.get(name)
    return job.view() if job else {"state": "idle"}


# sessions ----------------------------------------------------------------


@router.get("/tasks/{name}/sessions/{side}", response_model=list[models.Session],
            tags=["sessions"])
def task_sessions(name: TaskName, side: Side, store: StoreDep) -> list[dict[str, Any]]:
    """Who is connected to the task's source or destination, and who is writing."""
    return [shown(s) for s in api.task_sessions(name, side, store=store)]


@router.post("/tasks/{name}/sessions/{side}/end", response_model=list[models.Session],
             tags=["sessions"])
def end_task_sessions(name: TaskName, side: Side, body: models.EndSessions,
                      store: StoreDep) -> list[dict[str, Any]]:
    """Disconnect sessions (rolling back their open transactions); the sessions left."""
    return [shown(s) for s in api.task_sessions(name, side, end=body.ids, store=store)]


@router.post("/sessions", response_model=list[models.Session], tags=["sessions"])
def endpoint_sessions(body: models.EndpointSessions) -> list[dict[str, Any]]:
    """`turnout sessions URL [--end ID]` for any database; a POST keeps the URL out of logs."""
    try:
        found = api.end_sessions(body.url, body.end) if body.end else api.sessions(body.url)
    except NotFound as exc:
        if str(exc).startswith("no session "):
            raise
        raise BadInput(str(exc)) from None
    return [shown(s) for s in found]


def shown(session: Session) -> dict[str, Any]:
    """A session as JSON; a program's command line may carry a URL, so its password goes."""
    return {k: redact_text(v) if isinstance(v, str) else v for k, v in asdict(session).items()}
