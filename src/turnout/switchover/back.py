"""After switchover: `turnout rollback` moves the workload back, `turnout finish` cleans up.

Rollback is switchover mirrored, and journaled the same way (its own steps,
resumable): fence the destination (the source is fenced since the
switchover), prove no one but turnout can write to it, drain the reverse
task to a marker and stop it, verify with both sides closed, then open the
source, run `--on-switch`, and start the forward task again where it
stopped; the destination stays fenced for everyone but turnout until the
next switchover or finish. A failed verify keeps both tasks and both fences
as they are: `turnout rollback` verifies again, `turnout switchover --abort`
goes back to the switched state. Finish removes every object turnout put on
either server once the new side is trusted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from turnout import accounts, engines, tasks
from turnout.checkpoints import (
    ROLLBACK,
    ROLLBACK_FENCE_LEFT,
    ROLLBACK_FROZEN_AT,
    ROLLBACK_MOVED_AT,
    ROLLBACK_STEP,
    SWITCHOVER,
    SWITCHOVER_FROZE,
    SWITCHOVER_STEP,
    clear,
)
from turnout.endpoint import Endpoint
from turnout.errors import BadInput, NotFound, OperationFailed
from turnout.store import Store
from turnout.switchover import procedure, steps
from turnout.switchover.procedure import Options
from turnout.switchover.reverse import reverse_name
from turnout.verify.task import verify_task

STEPS = ("checked", "frozen", "writers_gone", "drained", "verified", "opened", "moved",
         "forward_started", "rolled_back")


def _switched(store: Store, name: str, command: str) -> str:
    if SWITCHOVER_STEP.get(store, name) != procedure.STEPS[-1]:
        raise BadInput(f"task {name} has not switched over: `turnout {command}` comes after "
                       f"`turnout switchover {name}`")
    return reverse_name(name)


class _Rollback:
    """One run of the rollback steps; each returns nothing and is recorded once done."""

    def __init__(self, store: Store, name: str, options: Options, log: steps.Journal) -> None:
        self.store, self.name, self.options, self.log = store, name, options, log
        self.spec = store.get(name).spec
        self.reverse = reverse_name(name)
        self.result: dict[str, Any] = {}

    def checked(self) -> None:
        if tasks.status(self.reverse, self.store).pid is None:
            raise OperationFailed(f"reverse task {self.reverse} is not running: start it "
                                  f"(`turnout task start {self.reverse}`), then roll back")
        self.log(f"rollback of {self.name} begins")

    def frozen(self) -> None:
        ROLLBACK_FROZEN_AT.set(self.store, self.name, time.time())
        if not self.options.freeze:
            self.log("--no-freeze: the application must have stopped writing to the "
                     "destination")
            return
        reason = f"rollback of task {self.name}"
        steps.fence(self.spec.dest, reason, self.options.lock_accounts, self.log)
        if not SWITCHOVER_FROZE.present(self.store, self.name):  # switched with --no-freeze
            steps.fence(self.spec.source, reason, self.options.lock_accounts, self.log)
            SWITCHOVER_FROZE.set(self.store, self.name, True)

    def writers_gone(self) -> None:
        if not self.options.freeze:
            return
        left = steps.prove_fence(self.spec.dest, self.options.session_timeout,
                                 self.options.kill_sessions, self.log)
        if left:
            steps.lift_fence(self.spec.dest, self.log)
            clear(self.store, self.name, *ROLLBACK)
            raise OperationFailed(
                f"{len(left)} session(s) can still write to {self.spec.dest_endpoint}: "
                f"{steps.describe(left)}; writes are allowed there again and the reverse task "
                "keeps running: stop them, or run again with --kill-sessions")

    def drained(self) -> None:
        if tasks.status(self.reverse, self.store).pid is None:  # died mid-step
            tasks.start_task(self.reverse, self.store)
        tasks.wait_until(self.reverse, lambda s: s.following, 60, self.store)  # just (re)started
        steps.drain(self.store, self.reverse, self.options.drain_timeout, self.log)
        if self.options.grace:
            self.log(f"grace period: {self.options.grace:g} s")
            time.sleep(self.options.grace)
        steps.stop_if_running(self.store, self.reverse)
        self.log(f"reverse task {self.reverse} stopped")
        steps.forward_from_marker(self.spec, self.name, self.store.get(self.name).capture_name,
                                  self.log)  # a step run again
        # takes a new one, still inside the source's fence

    def verified(self) -> None:
        report = verify_task(self.name, self.store)
        if not report["consistent"]:
            counts = {k: sum(len(t[k]) for t in report["tables"])
                      for k in ("missing", "extra", "different")}
            self.log(f"source and destination differ: {counts}", "error")
            raise OperationFailed(
                f"source and destination differ after draining {self.reverse} ({counts}): "
                f"both stay closed to the application; `turnout verify {self.name}` shows the "
                f"rows, `turnout rollback {self.name}` verifies again, `turnout switchover "
                f"{self.name} --abort` returns to the destination")
        self.result["verified_rows"] = sum(t["rows_source"] for t in report["tables"])
        self.log(f"verified: {self.result['verified_rows']} {steps.unit(self.spec)} "
                 "identical on both sides")

    def opened(self) -> None:
        if self.reverse in {r.name for r in self.store.all_tasks()}:
            tasks.delete_task(self.reverse, self.store)  # its capture leaves the destination
        steps.lift_fence(self.spec.source, self.log)
        clear(self.store, self.name, SWITCHOVER_FROZE)
        self.log(f"the destination stays fenced for everyone but turnout until the next "
                 f"`turnout switchover {self.name}` or `turnout finish {self.name}`")

    def moved(self) -> None:
        if self.options.on_switch:
            procedure.run_on_switch(self.options.on_switch, self.name, self.reverse, "rollback")
            self.log("--on-switch command ran")
        ROLLBACK_MOVED_AT.set(self.store, self.name, time.time())

    def forward_started(self) -> None:
        if tasks.status(self.name, self.store).pid is None:
            tasks.start_task(self.name, self.store)

    def rolled_back(self) -> None:
        stopped = procedure.downtime(self.store, self.name, ROLLBACK_FROZEN_AT,
                                     ROLLBACK_MOVED_AT)
        self.result["write_downtime_s"] = round(stopped, 3)
        clear(self.store, self.name, *SWITCHOVER, *ROLLBACK)
        ROLLBACK_FENCE_LEFT.set(self.store, self.name, True)  # `task delete` lifts it
        self.log(f"rolled back: the workload may move back to {self.spec.source_endpoint} "
                 f"(writes were stopped for {stopped:.1f} s); the forward task {self.name} "
                 "runs again, ready for the next switchover")


def rollback(name: str, store: Store | None = None, options: Options | None = None,
             say: steps.Say = lambda _: None) -> dict[str, Any]:
    """Move the workload back to the source with nothing lost, or resume a rollback that
    stopped; the forward task restarts."""
    store = store or Store()
    _switched(store, name, "rollback")
    run = _Rollback(store, name, options or Options(), steps.Journal(store, name, say))
    done = ROLLBACK_STEP.get(store, name)
    if done:
        run.log(f"rollback resumes after step {done}")
    for step in STEPS[STEPS.index(done) + 1 if done else 0:]:
        do: Callable[[], None] = getattr(run, step)
        do()
        if step != STEPS[-1]:
            ROLLBACK_STEP.set(store, name, step)
    return {"task": name, "rolled_back": True, "steps": list(STEPS), **run.result}


def rollback_task(name: str, store: Store | None = None, say: steps.Say = lambda _: None,
                  **options: Any) -> dict[str, Any]:
    """The faces' form of rollback: options as keywords of Options (as for switchover)."""
    return rollback(name, store, Options(**options), say)


def finish(name: str, store: Store | None = None, say: steps.Say = lambda _: None,
           keep_accounts: bool = False, admins: dict[str, str | None] | None = None,
           ) -> dict[str, Any]:
    """Stop the reverse task, remove everything turnout installed on both servers, and drop
    the task's migration accounts (through `admins`: "source" / "dest" → an admin URL)."""
    store = store or Store()
    reverse = _switched(store, name, "finish")
    if ROLLBACK_STEP.present(store, name):
        raise BadInput(f"a rollback of {name} has not finished: `turnout rollback {name}` "
                       f"finishes it, `turnout switchover {name} --abort` undoes it")
    spec = store.get(name).spec
    steps.stop_if_running(store, reverse)
    tasks.delete_task(reverse, store)
    tasks.delete_task(name, store)  # the forward capture, checkpoints and the task itself
    for url in (spec.source, spec.dest):
        engine = engines.connect(url)
        try:
            engine.unfreeze()
            engine.remove_own_objects()
        finally:
            engine.close()
    sides = {"source": spec.source, "dest": spec.dest}
    left = [] if keep_accounts else _drop_accounts(sides, admins or {}, say)  # used until now
    say(f"finished: nothing of turnout is left on {spec.source_endpoint} or "
        f"{spec.dest_endpoint}; tasks {name} and {reverse} are deleted")
    return {"task": name, "finished": True, "accounts_left": left}


def _drop_accounts(sides: dict[str, str], admins: dict[str, str | None],
                   say: steps.Say) -> list[str]:
    """Drop each side's migration account (one that is not a superuser) through that side's
    admin URL; the accounts that stay, for want of one."""
    left = []
    for side, url in sides.items():
        user = urlsplit(Endpoint.parse(url).url).username
        if not user or not accounts.has_accounts(url) or accounts.superuser_warning(url):
            continue  # no account of its own: an engine without accounts, or an administrator's
        admin = admins.get(side)
        if admin is None:
            left.append(f"{user} on {Endpoint.parse(url)}")
            say(f"migration account {user} stays on {Endpoint.parse(url)}: --admin-{side} URL, "
                f"or `turnout accounts drop ADMIN_URL --user {user}`, removes it")
            continue
        try:
            accounts.drop(admin, user)
            say(f"migration account {user} dropped from {Endpoint.parse(url)}")
        except NotFound:
            pass  # dropped already (a finish run again)
    return left
