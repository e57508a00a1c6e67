"""What switchover and rollback share: freezing a side, waiting out its writers, draining a task.

Zero lag is proved, not read off a clock: a marker is committed on the
task's source after the freeze, and the task has drained once the
destination's own checkpoint (written with the data) is at or past it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from turnout import checkpoints, engines, tasks
from turnout.engines.base import Engine
from turnout.errors import OperationFailed
from turnout.model import Position, Session, TaskState
from turnout.spec import TaskSpec
from turnout.store import Store

Say = Callable[[str], None]


@dataclass
class Journal:
    """Where a procedure says what it does: the task's event log and the screen."""

    store: Store
    task: str
    say: Say

    def __call__(self, message: str, level: str = "info") -> None:
        self.store.add_event(self.task, level, message)
        self.say(message)


def describe(sessions: list[Session]) -> str:
    return "; ".join(f"{s.id} ({s.user or '?'}@{s.client or '?'} {s.program} {s.state})".strip()
                     for s in sessions)


def fence(url: str, reason: str, lock: bool, log: Journal) -> bool:
    """Fence writes off on `url` for everyone but turnout. The accounts that could write past
    the fence stop it before anything changes, named, unless `lock`: then they are locked
    out until the fence comes down. Whether this call put the fence up."""
    engine = engines.connect(url)
    try:
        bypass = engine.fence_bypass()
        if bypass and not lock:
            raise OperationFailed(
                f"{len(bypass)} account(s) can write to {engine.endpoint} past the freeze: "
                f"{'; '.join(bypass)}; nothing was changed: take that privilege from them, or "
                "run again with --lock-accounts to lock them out until rollback or finish")
        made = engine.freeze(reason, bypass)
    finally:
        engine.close()
    if bypass:
        log(f"accounts locked out of {engine.endpoint} until rollback or finish: "
            f"{'; '.join(bypass)}")
    if made:
        log(f"writes frozen on {engine.endpoint} for everyone but turnout")
    return made


def prove_fence(url: str, timeout: float, kill: bool, log: Journal) -> list[Session]:
    """Wait until no session but turnout's can write to the fenced `url` (ending the others
    when `kill`); the sessions still able to when time ran out ([] once it is proven)."""
    engine = engines.connect(url)
    try:
        left = wait_for_writers(engine, timeout, kill, log)
        if not left and engine.fence_bypass():  # an account made meanwhile
            raise OperationFailed(f"accounts that can write past the freeze appeared on "
                                  f"{engine.endpoint}: {'; '.join(engine.fence_bypass())}; "
                                  "run again with --lock-accounts, or take that privilege")
    finally:
        engine.close()
    if not left:
        log(f"no session but turnout's can write to {engine.endpoint}")
    return left


def lift_fence(url: str, log: Journal) -> None:
    """Open `url` to the application again; accounts freeze locked are unlocked."""
    engine = engines.connect(url)
    try:
        if engine.frozen():
            engine.unfreeze()
            log(f"writes allowed again on {engine.endpoint}")
    finally:
        engine.close()


def wait_for_writers(engine: Engine, timeout: float, kill: bool, log: Journal) -> list[Session]:
    """Wait until only turnout can write to the frozen `engine`; ending the others' sessions
    when `kill`. The sessions still able to write when time ran out ([] when none)."""
    deadline = time.time() + timeout
    shown: set[str] = set()
    while True:
        writers = engine.writers_after_freeze()
        if not writers:
            return []
        new = [s for s in writers if s.id not in shown]
        if new:
            log(f"sessions that can still write to {engine.endpoint}: {describe(new)}")
            shown |= {s.id for s in new}
        if kill and engine.capabilities.end_sessions:
            engine.end_sessions([s.id for s in writers])
            log(f"ended {len(writers)} session(s) on {engine.endpoint}")
        elif time.time() >= deadline:
            return writers
        time.sleep(0.5)


def drain(store: Store, task: str, timeout: float, log: Journal) -> None:
    """Return once the task has applied everything its source committed before this call."""
    spec = store.get(task).spec
    src = engines.connect(spec.source_endpoint)
    try:
        target = src.capture([], store.get(task).capture_name).marker()
    finally:
        src.close()
    log(f"marker committed on {spec.source_endpoint} at {target.to_dict()}; waiting for "
        f"task {task} to apply it")
    dst = engines.connect(spec.dest_endpoint)
    try:
        deadline = time.time() + timeout
        while not _reached(dst, store, task, target):
            current = tasks.status(task, store)
            if current.state is not TaskState.MIGRATING:
                why = current.error or "stopped"
                raise OperationFailed(f"task {task} is {current.state.value} ({why}): it cannot "
                                      "drain; start it again")
            if time.time() > deadline:
                raise OperationFailed(f"task {task} did not apply the marker within {timeout:.0f}"
                                      " s: look at `turnout task status`, then run again")
            time.sleep(0.05)
    finally:
        dst.close()
    log(f"task {task} has applied everything up to the marker: zero lag")


def _reached(dst: Engine, store: Store, task: str, target: Position) -> bool:
    """Whether the destination's checkpoint is at or past `target`; before the first batch the
    task stands where its capture started."""
    saved = checkpoints.applied_up_to(dst.read_checkpoint(task), store, task)
    return saved is not None and not engines.position_from_json(saved) < target


def forward_from_marker(spec: TaskSpec, name: str, slot: str, log: Journal) -> None:
    """An engine of keys replays commands, not row images: the forward task must not apply
    again what the reverse task wrote to the source, so it goes on from a marker taken now.
    Only while the source is fenced and no reverse task runs, with the forward task drained
    before: then nothing but turnout wrote there since its checkpoint."""
    source = spec.source_endpoint
    if not engines.engine_class(source.scheme).capabilities.keyspace:
        return
    src = engines.connect(source)
    try:
        start = src.capture([], slot).marker()
        keyspace = src.keyspace
        assert keyspace is not None  # capabilities.keyspace promised one
        keyspace.follow_from(spec.dest_endpoint, name, start)
    finally:
        src.close()
    log(f"forward task {name} will follow {source} from {start.to_dict()}, after "
        "everything the reverse task wrote there")


def unit(spec: TaskSpec) -> str:
    """What a task moves, as its messages count it: keys for an engine of keys, else rows."""
    return "keys" if engines.engine_class(spec.source_endpoint.scheme).capabilities.keyspace \
        else "rows"


def unfreeze(url: str, log: Journal) -> None:
    engine = engines.connect(url)
    try:
        engine.unfreeze()
    finally:
        engine.close()
    log(f"writes allowed again on {engine.endpoint}")


def stop_if_running(store: Store, task: str) -> None:
    if tasks.status(task, store).pid is not None:
        tasks.stop_task(task, store)
