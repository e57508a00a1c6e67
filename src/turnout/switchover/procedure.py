"""`turnout switchover NAME`: the cutover checklist of the cloud services, as one resumable command.

checked → reverse_capture → frozen → writers_gone → drained →
reverse_prepared → verified → opened → moved → reverse_started → switched.
The reverse task's capture is installed before the freeze (creating a
PostgreSQL slot waits for every transaction running on the server, which
must not count as write downtime); it starts reading only from a marker
committed on the destination once the forward task has stopped, so nothing
the forward task wrote is sent back. Both sides are then fenced (every
session but turnout's refused writes) before anything moves, and the
freeze is proven by the engine's privilege rules; the forward task drains to
a marker and stops, the reverse task's capture is installed, and the two
sides are verified while still closed to the application. Only then is the
destination opened and `--on-switch` run; the source stays fenced (the
reverse task writes through the fence) until rollback or finish, so a
retrying application waits, lands on the destination, or is refused: it
never writes to the old source. Each step, once done, is recorded in the
store; running the command again continues after the last one done, and
`--abort` undoes what was done (fences down, the reverse task dropped, the
forward task running).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from turnout import accounts, alerts, engines, tasks
from turnout.checkpoints import (
    CAPTURE_START,
    ROLLBACK_FENCE_LEFT,
    SWITCHOVER,
    SWITCHOVER_DEST_FROZE,
    SWITCHOVER_FROZE,
    SWITCHOVER_FROZEN_AT,
    SWITCHOVER_MOVED_AT,
    SWITCHOVER_STEP,
    Mark,
    clear,
)
from turnout.endpoint import Endpoint
from turnout.errors import BadInput, OperationFailed, TransientError, TurnoutError, Unsupported
from turnout.migrate import setup
from turnout.model import Phase, TaskState
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.switchover import steps
from turnout.switchover.reverse import reverse_name, reverse_problem, reverse_spec
from turnout.verify.task import verify_task

STEPS = ("checked", "reverse_capture", "frozen", "writers_gone", "drained", "reverse_prepared",
         "verified", "opened", "moved", "reverse_started", "switched")
_BEFORE = {"unfrozen": "reverse_prepared"}  # a step of earlier versions → where to resume
EARLY_CAPTURE_WAIT_S = 10.0  # a slot made before the freeze waits this long per transaction


@dataclass
class Options:
    max_delay: float = 5.0  # seconds of delay above which switchover refuses to begin
    freeze: bool = True  # False: the user has stopped the application
    session_timeout: float = 60.0  # how long to wait for writers to leave the frozen source
    kill_sessions: bool = False  # end them instead
    lock_accounts: bool = False  # lock out accounts that could write past the fence
    grace: float = 0.0  # after zero lag is proved by the marker, before the task stops
    on_switch: str | None = None  # a command to run when the workload may move
    drain_timeout: float = 300.0


@dataclass
class Context:
    store: Store
    name: str
    spec: TaskSpec
    options: Options
    log: steps.Journal
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def reverse(self) -> str:
        return reverse_name(self.name)


def switchover(name: str, store: Store | None = None, options: Options | None = None,
               say: steps.Say = lambda _: None) -> dict[str, Any]:
    """Carry out (or resume) the switchover of task `name`; what happened, as a dict."""
    store = store or Store()
    ctx = Context(store, name, store.get(name).spec, options or Options(),
                  steps.Journal(store, name, say))
    done = SWITCHOVER_STEP.get(store, name)
    if done == STEPS[-1]:
        raise BadInput(f"task {name} has switched over already: `turnout rollback {name}` goes "
                       f"back, `turnout finish {name}` cleans up")
    done = _BEFORE.get(done or "", done)
    if done:
        ctx.log(f"switchover resumes after step {done}")
    at = STEPS.index(done) + 1 if done else 0
    try:
        while at < len(STEPS):
            reached = _STEPS[STEPS[at]](ctx) or STEPS[at]  # a step may skip those after it
            SWITCHOVER_STEP.set(store, name, reached)
            at = STEPS.index(reached) + 1
    except TurnoutError as exc:
        alerts.send_now(ctx.spec.alerts, name, alerts.SWITCHOVER_FAILED,
                        f"switchover of task {name} failed at step {STEPS[at]}: {exc}",
                        lambda said: ctx.log(said, "warning"), step=STEPS[at], error=str(exc))
        raise
    return {"task": name, "reverse": ctx.reverse, "steps": list(STEPS), **ctx.result}


def switchover_task(name: str, store: Store | None = None, say: steps.Say = lambda _: None,
                    **options: Any) -> dict[str, Any]:
    """The faces' form of switchover: options as keywords of Options. `say(message)` hears
    each step as it happens (the task's event log keeps them too)."""
    return switchover(name, store, Options(**options), say)


def _checked(ctx: Context) -> str | None:
    refused = reverse_problem(ctx.spec)  # before anything is frozen: there is no way back
    if refused:
        raise Unsupported(refused)
    status = tasks.status(ctx.name, ctx.store)
    if Phase.INCREMENTAL not in ctx.spec.types:
        if status.state is not TaskState.COMPLETED:
            raise OperationFailed(f"task {ctx.name} is {status.state.value}: a task without the "
                                  "incremental type must have completed first")
        ctx.log("the task has no incremental type: writes to the source must already be "
                "stopped; going straight to the reverse task")
        SWITCHOVER_FROZEN_AT.set(ctx.store, ctx.name, time.time())
        return "drained"
    if not status.following:
        phase = status.phase.value if status.phase else None
        raise OperationFailed(f"task {ctx.name} is {status.state.value} ({phase}): "
                              "start it and wait for Incremental Data Migration")
    deadline = time.time() + 10
    while status.delay_s is None and time.time() < deadline:  # just started: no report yet
        time.sleep(0.2)
        status = tasks.status(ctx.name, ctx.store)
    delay = status.delay_s
    if delay is None or delay > ctx.options.max_delay:
        raise OperationFailed(f"task {ctx.name} is delayed {delay} s, more than --max-delay "
                              f"{ctx.options.max_delay:g} s: wait until it catches up")
    ctx.log(f"switchover of {ctx.name} begins: delay {delay} s")
    for url in (ctx.spec.source, ctx.spec.dest):
        warning = accounts.superuser_warning(url)
        if warning:
            ctx.log(warning, "warning")
    return None


def _drop_reverse(ctx: Context) -> None:
    """A switchover that stops before the forward task drained leaves no reverse task (its
    slot would hold the destination's log)."""
    if ctx.reverse in {r.name for r in ctx.store.all_tasks()}:
        steps.stop_if_running(ctx.store, ctx.reverse)
        tasks.delete_task(ctx.reverse, ctx.store)


def _frozen(ctx: Context) -> None:
    try:
        _fence_both(ctx)
    except (BadInput, OperationFailed):
        _drop_reverse(ctx)
        clear(ctx.store, ctx.name, *SWITCHOVER)
        raise


def _fence_both(ctx: Context) -> None:
    """The destination first: the application does not write there yet, so its write
    downtime begins with the source's fence."""
    if not ctx.options.freeze:
        SWITCHOVER_FROZEN_AT.set(ctx.store, ctx.name, time.time())
        ctx.log("--no-freeze: the application must have stopped writing to the source")
        return
    reason = f"switchover of task {ctx.name}"
    if steps.fence(ctx.spec.dest, reason, ctx.options.lock_accounts, ctx.log):
        SWITCHOVER_DEST_FROZE.set(ctx.store, ctx.name, True)  # abort takes it down again
    SWITCHOVER_FROZEN_AT.set(ctx.store, ctx.name, time.time())
    try:
        steps.fence(ctx.spec.source, reason, ctx.options.lock_accounts, ctx.log)
    except (BadInput, OperationFailed):
        _undo_freeze(ctx)  # the destination's, if this run put it up
        raise
    SWITCHOVER_FROZE.set(ctx.store, ctx.name, True)


def _writers_gone(ctx: Context) -> None:
    if not ctx.options.freeze:
        return
    for url in (ctx.spec.source, ctx.spec.dest):
        left = steps.prove_fence(url, ctx.options.session_timeout, ctx.options.kill_sessions,
                                 ctx.log)
        if left:
            _undo_freeze(ctx)
            _drop_reverse(ctx)
            clear(ctx.store, ctx.name, *SWITCHOVER)
            raise OperationFailed(
                f"{len(left)} session(s) can still write to {Endpoint.parse(url)} "
                f"after {ctx.options.session_timeout:g} s: {steps.describe(left)}; writes are "
                "allowed again and the task keeps running: stop them, or run again with "
                "--kill-sessions")


def _drained(ctx: Context) -> None:
    if tasks.status(ctx.name, ctx.store).pid is None:  # a run that died mid-step
        tasks.start_task(ctx.name, ctx.store)  # stopped it; the source is frozen, so this is safe
        tasks.wait_until(ctx.name, lambda s: s.state is TaskState.MIGRATING, 60, ctx.store)
    steps.drain(ctx.store, ctx.name, ctx.options.drain_timeout, ctx.log)
    if ctx.options.grace:
        ctx.log(f"grace period: {ctx.options.grace:g} s")
        time.sleep(ctx.options.grace)
    tasks.stop_task(ctx.name, ctx.store)
    synced = "" if steps.unit(ctx.spec) == "keys" else \
        "; sequences and AUTO_INCREMENT synced on the destination"
    ctx.log(f"forward task {ctx.name} stopped{synced}")


def _reverse_capture(ctx: Context) -> None:
    """The reverse task and its capture, before the freeze: slow steps (a slot) cost no
    write downtime here. Its start is fixed later, by reverse_prepared."""
    began = time.time()
    if ctx.reverse not in {r.name for r in ctx.store.all_tasks()}:
        ctx.store.create_task(reverse_spec(ctx.store, ctx.name))
    try:
        with engines.bounded_capture_wait(EARLY_CAPTURE_WAIT_S):
            setup.prepare(ctx.store, ctx.reverse)
    except TransientError as exc:  # a long transaction there: after the writers are gone
        _drop_reverse(ctx)
        ctx.log(f"{exc}: the reverse task's capture is installed inside the freeze instead")
        return
    ctx.log(f"reverse task {ctx.reverse} created and its capture installed on the destination "
            f"({time.time() - began:.1f} s, before the freeze)")


def _reverse_prepared(ctx: Context) -> None:
    """The reverse task starts at a marker committed on the destination now: the forward task
    has stopped, so everything it wrote lies before it and is never sent back, and the
    application has not written there yet."""
    if not CAPTURE_START.present(ctx.store, ctx.reverse):  # deferred to the freeze
        if ctx.reverse not in {r.name for r in ctx.store.all_tasks()}:
            ctx.store.create_task(reverse_spec(ctx.store, ctx.name))
        setup.prepare(ctx.store, ctx.reverse)
    dest = engines.connect(ctx.spec.dest_endpoint)
    try:
        start = dest.capture([], ctx.store.get(ctx.reverse).capture_name).marker()
    finally:
        dest.close()
    CAPTURE_START.set(ctx.store, ctx.reverse, start.to_json())
    ctx.log(f"reverse task {ctx.reverse} will read the destination's changes from "
            f"{start.to_dict()}")


def _verified(ctx: Context) -> None:
    report = verify_task(ctx.name, ctx.store)
    if not report["consistent"]:
        counts = {k: sum(len(t[k]) for t in report["tables"])
                  for k in ("missing", "extra", "different")}
        ctx.log(f"source and destination differ: {counts}", "error")
        raise OperationFailed(
            f"source and destination differ ({counts}): both stay closed to the application; "
            f"`turnout verify {ctx.name}` shows the rows, `turnout switchover {ctx.name}` "
            f"verifies again, `turnout switchover {ctx.name} --abort` goes back to the source")
    ctx.result["verified_rows"] = sum(t["rows_source"] for t in report["tables"])
    ctx.log(f"verified: {ctx.result['verified_rows']} {steps.unit(ctx.spec)} identical on "
            "both sides")


def _opened(ctx: Context) -> None:
    steps.lift_fence(ctx.spec.dest, ctx.log)
    clear(ctx.store, ctx.name, ROLLBACK_FENCE_LEFT)  # a rollback's, lifted just now
    ctx.log(f"the source stays fenced for everyone but turnout until `turnout rollback "
            f"{ctx.name}` or `turnout finish {ctx.name}`")


def _moved(ctx: Context) -> None:
    if ctx.options.on_switch:
        run_on_switch(ctx.options.on_switch, ctx.name, ctx.reverse, "switchover")
        ctx.log("--on-switch command ran")
    SWITCHOVER_MOVED_AT.set(ctx.store, ctx.name, time.time())


def run_on_switch(command: str, name: str, reverse: str, again: str) -> None:
    env = dict(os.environ, TURNOUT_TASK=name, TURNOUT_REVERSE_TASK=reverse)
    done = subprocess.run(command, shell=True, env=env, check=False)
    if done.returncode != 0:
        raise OperationFailed(f"--on-switch command exited {done.returncode}: fix it and "
                              f"run {again} again (it resumes here)")


def _reverse_started(ctx: Context) -> None:
    if tasks.status(ctx.reverse, ctx.store).pid is None:
        tasks.start_task(ctx.reverse, ctx.store)
    tasks.wait_until(ctx.reverse, lambda s: s.phase is Phase.INCREMENTAL, 60, ctx.store)
    ctx.log(f"reverse task {ctx.reverse} runs: changes on the destination flow back")


def downtime(store: Store, name: str, frozen_at: Mark[float] = SWITCHOVER_FROZEN_AT,
             moved_at: Mark[float] = SWITCHOVER_MOVED_AT) -> float:
    """Seconds from the freeze to the moment the workload could write on the other side."""
    since, until = frozen_at.get(store, name), moved_at.get(store, name)
    return until - since if since is not None and until is not None else 0.0


def _switched(ctx: Context) -> None:
    stopped = downtime(ctx.store, ctx.name)
    ctx.result["write_downtime_s"] = round(stopped, 3)
    ctx.log(f"the workload may now move to {ctx.spec.dest_endpoint} (writes were stopped for "
            f"{stopped:.1f} s); `turnout rollback {ctx.name}` moves it back")


def _undo_freeze(ctx: Context) -> None:
    if SWITCHOVER_FROZE.present(ctx.store, ctx.name):
        steps.lift_fence(ctx.spec.source, ctx.log)
        clear(ctx.store, ctx.name, SWITCHOVER_FROZE)
    if SWITCHOVER_DEST_FROZE.present(ctx.store, ctx.name):
        steps.lift_fence(ctx.spec.dest, ctx.log)
        clear(ctx.store, ctx.name, SWITCHOVER_DEST_FROZE)


_STEPS: dict[str, Callable[[Context], str | None]] = {
    "checked": _checked, "reverse_capture": _reverse_capture, "frozen": _frozen,
    "writers_gone": _writers_gone, "drained": _drained, "reverse_prepared": _reverse_prepared,
    "verified": _verified,
    "opened": _opened, "moved": _moved, "reverse_started": _reverse_started,
    "switched": _switched,
}



def status(name: str, store: Store | None = None) -> dict[str, Any]:
    """Where a task's switchover stands: the steps in order and the last one done (None when
    none is under way), for a checklist that ticks as it goes."""
    store = store or Store()
    store.get(name)  # NotFound for an unknown task
    return {"steps": list(STEPS), "done": SWITCHOVER_STEP.get(store, name)}
