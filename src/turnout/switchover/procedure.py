"""`turnout switchover NAME`: the cutover checklist of the cloud services, as one resumable command.

checked → frozen → writers_gone → drained → reverse_prepared → unfrozen →
reverse_started → verified → switched. Each step, once done, is recorded in
the store; running the command again continues after the last one done, and
`--abort` undoes what was done (unfreeze, drop the reverse task, restart the
forward task). The reverse task's capture is installed while the source is
still frozen and before the workload moves, so it starts exactly where the
forward task stopped: nothing the forward task applied is sent back, and
nothing written to the destination afterwards is missed.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from turnout import accounts, api, engines
from turnout.errors import BadInput, OperationFailed
from turnout.migrate import runner
from turnout.model import Phase, TaskState
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.switchover import steps
from turnout.switchover.reverse import reverse_name, reverse_spec

STEPS = ("checked", "frozen", "writers_gone", "drained", "reverse_prepared", "unfrozen",
         "reverse_started", "verified", "switched")
STEP = "switchover_step"  # store checkpoints: the last step done
FROZE = "switchover_froze"  # "1" when turnout froze the source (not --no-freeze)
FROZEN_AT = "switchover_frozen_at"  # when writes stopped: the start of the write downtime
KEYS = [STEP, FROZE, FROZEN_AT]


@dataclass
class Options:
    max_delay: float = 5.0  # seconds of delay above which switchover refuses to begin
    freeze: bool = True  # False: the user has stopped the application
    session_timeout: float = 60.0  # how long to wait for writers to leave the frozen source
    kill_sessions: bool = False  # end them instead
    grace: float = 60.0  # after zero lag is proved, before the forward task stops
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
    done = store.checkpoint(name, STEP)
    if done == STEPS[-1]:
        raise BadInput(f"task {name} has switched over already: `turnout rollback {name}` goes "
                       f"back, `turnout finish {name}` cleans up")
    if done:
        ctx.log(f"switchover resumes after step {done}")
    at = STEPS.index(done) + 1 if done else 0
    while at < len(STEPS):
        reached = _STEPS[STEPS[at]](ctx) or STEPS[at]  # a step may skip those after it
        store.set_checkpoint(name, STEP, reached)
        at = STEPS.index(reached) + 1
    return {"task": name, "reverse": ctx.reverse, "steps": list(STEPS), **ctx.result}


def _checked(ctx: Context) -> str | None:
    status = api.task_status(ctx.name, ctx.store)
    if Phase.INCREMENTAL not in ctx.spec.types:
        if status["state"] != TaskState.COMPLETED.value:
            raise OperationFailed(f"task {ctx.name} is {status['state']}: a task without the "
                                  "incremental type must have completed first")
        ctx.log("the task has no incremental type: writes to the source must already be "
                "stopped; going straight to the reverse task")
        ctx.store.set_checkpoint(ctx.name, FROZEN_AT, str(time.time()))
        return "drained"
    if status["state"] != TaskState.MIGRATING.value or status["phase"] != "incremental":
        raise OperationFailed(f"task {ctx.name} is {status['state']} ({status['phase']}): "
                              "start it and wait for Incremental Data Migration")
    deadline = time.time() + 10
    while status["delay_s"] is None and time.time() < deadline:  # just started: no report yet
        time.sleep(0.2)
        status = api.task_status(ctx.name, ctx.store)
    delay = status["delay_s"]
    if delay is None or delay > ctx.options.max_delay:
        raise OperationFailed(f"task {ctx.name} is delayed {delay} s, more than --max-delay "
                              f"{ctx.options.max_delay:g} s: wait until it catches up")
    ctx.log(f"switchover of {ctx.name} begins: delay {delay} s")
    for url in (ctx.spec.source, ctx.spec.dest):
        warning = accounts.superuser_warning(url)
        if warning:
            ctx.log(warning, "warning")
    return None


def _frozen(ctx: Context) -> None:
    ctx.store.set_checkpoint(ctx.name, FROZEN_AT, str(time.time()))
    if not ctx.options.freeze:
        ctx.log("--no-freeze: the application must have stopped writing to the source")
        return
    engine = engines.connect(ctx.spec.source_endpoint)
    try:
        engine.freeze(f"switchover of task {ctx.name}")
    finally:
        engine.close()
    ctx.store.set_checkpoint(ctx.name, FROZE, "1")
    ctx.log(f"writes frozen on {ctx.spec.source_endpoint}")


def _writers_gone(ctx: Context) -> None:
    engine = engines.connect(ctx.spec.source_endpoint)
    try:
        left = steps.wait_for_writers(engine, ctx.options.session_timeout,
                                      ctx.options.kill_sessions, ctx.log)
    finally:
        engine.close()
    if left:
        _undo_freeze(ctx)
        ctx.store.clear_checkpoints(ctx.name, KEYS)
        raise OperationFailed(
            f"{len(left)} session(s) can still write to {ctx.spec.source_endpoint} after "
            f"{ctx.options.session_timeout:g} s: {steps.describe(left)}; writes are allowed "
            "again and the task keeps running: stop them, or run again with --kill-sessions")
    ctx.log("no session but turnout's can write to the source")


def _drained(ctx: Context) -> None:
    if api.task_status(ctx.name, ctx.store)["pid"] is None:  # a run that died mid-step
        api.start_task(ctx.name, ctx.store)  # stopped it; the source is frozen, so this is safe
        api.wait_for(ctx.name, lambda s: s["state"] == TaskState.MIGRATING.value, 60, ctx.store)
    steps.drain(ctx.store, ctx.name, ctx.options.drain_timeout, ctx.log)
    if ctx.options.grace:
        ctx.log(f"grace period: {ctx.options.grace:g} s")
        time.sleep(ctx.options.grace)
    api.stop_task(ctx.name, ctx.store)
    ctx.log(f"forward task {ctx.name} stopped; sequences and AUTO_INCREMENT synced on the "
            "destination")


def _reverse_prepared(ctx: Context) -> None:
    if ctx.reverse not in {r.name for r in ctx.store.all_tasks()}:
        ctx.store.create_task(reverse_spec(ctx.store, ctx.name))
    runner.prepare(ctx.store, ctx.reverse)
    ctx.log(f"reverse task {ctx.reverse} created; its capture on the destination starts now")


def _unfrozen(ctx: Context) -> None:
    _undo_freeze(ctx)


def _reverse_started(ctx: Context) -> None:
    if api.task_status(ctx.reverse, ctx.store)["pid"] is None:
        api.start_task(ctx.reverse, ctx.store)
    api.wait_for(ctx.reverse, lambda s: s["phase"] == "incremental", 60, ctx.store)
    ctx.log(f"reverse task {ctx.reverse} runs: changes on the destination flow back")


def _verified(ctx: Context) -> None:
    report = api.verify_task(ctx.name, ctx.store)
    if not report["consistent"]:
        counts = {k: sum(len(t[k]) for t in report["tables"])
                  for k in ("missing", "extra", "different")}
        ctx.log(f"source and destination differ: {counts}", "error")
        raise OperationFailed(
            f"source and destination differ ({counts}): stay on the source; `turnout verify "
            f"{ctx.name}` shows the rows, `turnout switchover {ctx.name} --abort` undoes")
    ctx.result["verified_rows"] = sum(t["rows_source"] for t in report["tables"])
    ctx.log(f"verified: {ctx.result['verified_rows']} rows identical on both sides")


def _switched(ctx: Context) -> None:
    if ctx.options.on_switch:
        env = dict(os.environ, TURNOUT_TASK=ctx.name, TURNOUT_REVERSE_TASK=ctx.reverse)
        done = subprocess.run(ctx.options.on_switch, shell=True, env=env, check=False)
        if done.returncode != 0:
            raise OperationFailed(f"--on-switch command exited {done.returncode}: fix it and "
                                  "run switchover again (it resumes here)")
        ctx.log("--on-switch command ran")
    since = ctx.store.checkpoint(ctx.name, FROZEN_AT)
    downtime = time.time() - float(since) if since else 0.0
    ctx.result["write_downtime_s"] = round(downtime, 3)
    ctx.log(f"the workload may now move to {ctx.spec.dest_endpoint} (writes were stopped for "
            f"{downtime:.1f} s); `turnout rollback {ctx.name}` moves it back")


def _undo_freeze(ctx: Context) -> None:
    if ctx.store.checkpoint(ctx.name, FROZE):
        steps.unfreeze(ctx.spec.source, ctx.log)
        ctx.store.clear_checkpoints(ctx.name, [FROZE])


_STEPS: dict[str, Callable[[Context], str | None]] = {
    "checked": _checked, "frozen": _frozen, "writers_gone": _writers_gone,
    "drained": _drained, "reverse_prepared": _reverse_prepared, "unfrozen": _unfrozen,
    "reverse_started": _reverse_started, "verified": _verified, "switched": _switched,
}


def abort(name: str, store: Store | None = None, say: steps.Say = lambda _: None,
          ) -> dict[str, Any]:
    """Undo a switchover that has not finished: back to the forward task running."""
    store = store or Store()
    log = steps.Journal(store, name, say)
    done = store.checkpoint(name, STEP)
    if done == STEPS[-1]:
        raise BadInput(f"task {name} has switched over: `turnout rollback {name}` moves back")
    spec = store.get(name).spec
    reverse = reverse_name(name)
    if reverse in {r.name for r in store.all_tasks()}:
        steps.stop_if_running(store, reverse)
        api.delete_task(reverse, store)
        log(f"reverse task {reverse} deleted")
    engine = engines.connect(spec.source_endpoint)
    try:
        engine.unfreeze()  # idempotent: whatever step it died in
    finally:
        engine.close()
    store.clear_checkpoints(name, KEYS)
    restarted = False
    if Phase.INCREMENTAL in spec.types and api.task_status(name, store)["pid"] is None:
        api.start_task(name, store)
        restarted = True
    log(f"switchover aborted after step {done or 'none'}; writes allowed on the source"
        + ("; forward task started again" if restarted else ""))
    return {"task": name, "aborted_after": done, "forward_restarted": restarted}
