"""Runs one task: precheck → schema → full → incremental, each step resumable.

The runner is the only stage that talks to the store: it saves what the
stages report (phase, per-table rows, delay, events) and records each step
as done, so a restarted worker skips what is finished and the destination's
own checkpoints say where to continue inside a step.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from turnout import accounts, checkpoints, engines
from turnout.checkpoints import CAPTURE_START, FULL_DONE, PRECHECKED, SCHEMA_DONE
from turnout.coalesce import Route
from turnout.engines.base import Capture, Engine
from turnout.errors import Fenced, OperationFailed, TurnoutError
from turnout.migrate import fence, full, incremental, joining, keyspace, retry, schema
from turnout.migrate.ddl import DdlApplier, DdlWaiting
from turnout.migrate.plan import TablePlan, build_plan
from turnout.migrate.setup import start_capture
from turnout.migrate.storeprogress import StoreProgress
from turnout.migrate.throttle import Throttle
from turnout.model import EPOCH_KEY, Phase, TaskState, fenced_off, taken_over
from turnout.spec import TaskSpec
from turnout.store import Store

CLOSE_WAIT_S = 5.0  # how long a run's end waits for its connections to close


class Runner:
    """Runs task `name` until `stop` is set; `on_incremental` is called each time the task
    enters incremental migration (what runs beside it then, such as the stray-row watch,
    belongs to the stages above the runner, which pass it in)."""

    def __init__(self, store: Store, name: str, stop: threading.Event,
                 on_incremental: Callable[[], object] | None = None,
                 epoch: int | None = None) -> None:
        self.store, self.name, self.stop = store, name, stop
        self.on_incremental = on_incremental
        self.epoch = epoch  # an agent's worker: fenced by this epoch (leases.py)
        self.progress = StoreProgress(store, name)
        self.retry = retry.Policy()
        self._capture: Capture | None = None  # the run's, closed when the run ends
        self.started = time.time()
        self.throttle = Throttle(self._limits, stop)

    def _limits(self) -> tuple[float, float]:
        """The task's throttling as the store has it now (`turnout task set` changes it)."""
        options = self.store.get(self.name).spec.options
        return options.max_rows_per_second, options.max_bytes_per_second

    def run(self) -> TaskState:
        """Run until done, stopped or failed; the final state is saved and returned.

        A transient fault (retry.py) does not end the run: the worker stays in its
        state with a "reconnecting" detail, waits, and runs the task again from its
        checkpoints.
        """
        checkpoints.clear(self.store, self.name, checkpoints.DETAIL,
                          checkpoints.HEARTBEAT_APPLIED)
        self.started = time.time()  # heartbeats from before this worker tell nothing
        attempt = 0
        while True:
            outcome = self._attempt(retrying=attempt > 0)
            if isinstance(outcome, TaskState):
                break
            if isinstance(outcome, Fenced):  # the task is another worker's: write nothing
                return self._fenced(outcome)
            tracked = self.progress if isinstance(self.progress, StoreProgress) else None
            again = self.retry.decide(outcome, attempt,
                                      progressed=bool(tracked and tracked.take_progressed()),
                                      ever_prechecked=PRECHECKED.present(self.store, self.name))
            if again is None:
                return self._failed(str(outcome))
            attempt = again.attempt
            reconnects = checkpoints.RECONNECTS.get(self.store, self.name) or 0
            checkpoints.RECONNECTS.set(self.store, self.name, reconnects + 1)
            checkpoints.DETAIL.set(self.store, self.name, again.detail)
            self.progress.event("warning", again.detail)
            if tracked:
                tracked.reconnecting = True
            if self.stop.wait(again.wait_s):
                outcome = TaskState.STOPPED
                break
        if (fenced := self._taken_over(None)) is not None:  # its state is its successor's
            return self._fenced(fenced)
        checkpoints.clear(self.store, self.name, checkpoints.DETAIL)
        self.store.update(self.name, state=outcome)
        self.progress.event("info", f"task {outcome.value.lower()}")
        return outcome

    def _fenced(self, fenced: Fenced) -> TaskState:
        """The one thing a worker whose task was taken over writes: why it stops."""
        self.progress.event("warning", str(fenced))
        return TaskState.STOPPED

    def _attempt(self, retrying: bool) -> TaskState | TurnoutError:
        """One run of the task from its checkpoints: the state it ended in, or the fault that
        ended it as turnout's error (a driver's error classified by its engine)."""
        src = dst = None
        try:
            spec = self.store.get(self.name).spec
            if isinstance(self.progress, StoreProgress):
                self.progress.new_run()
            if not retrying:
                self.store.update(self.name, state=TaskState.PRECHECKING, error=None)
            src = engines.connect(spec.source_endpoint)
            dst = engines.connect(spec.dest_endpoint, create=True)
            first_run = not PRECHECKED.present(self.store, self.name)
            if src.capabilities.keyspace:  # keys, not tables: the engine's own session
                PRECHECKED.set(self.store, self.name, True)
                return keyspace.run(self.store, self.name, spec, src, dst, self.progress,
                                    self.stop)
            if first_run:
                self._warn_superusers(src, dst)
            saved = {} if first_run else dst.read_checkpoint(self.name)
            known = frozenset(t.source for t in self.store.tables(self.name))
            slot = self.store.get(self.name).capture_name
            plans = build_plan(spec, src, dst, first_run=first_run, slot=slot, saved=saved,
                               known=known)
            late = [] if first_run else self._joining(spec, saved, plans, known)
            plans = [p for p in plans if p.source.name not in late]
            PRECHECKED.set(self.store, self.name, True)
            self.store.set_tables(self.name, [(p.source.name, p.dest.name, 0) for p in plans])
            self.store.update(self.name, state=TaskState.MIGRATING)
            return self._steps(spec, src, dst, plans, late, checkpoints.renamed_tables(saved))
        except DdlWaiting as exc:
            if (fenced := self._taken_over(dst)) is not None:
                return fenced
            checkpoints.DDL_WAITING.set(self.store, self.name, exc.waiting)
            self.store.update(self.name, error=str(exc))
            self.progress.event("warning", str(exc))
            return TaskState.PAUSED
        except Fenced as exc:
            return exc
        except TurnoutError as exc:
            return self._taken_over(dst) or exc
        except Exception as exc:  # noqa: BLE001 - a worker must record why it ended
            if (fenced := self._taken_over(dst)) is not None:
                return fenced
            self.progress.event("debug", traceback.format_exc())
            found = engines.classify(exc)
            return found or OperationFailed(f"unexpected {type(exc).__name__}: {exc}")
        finally:
            _close_quietly(self._capture, src, dst)
            self._capture = None

    def _taken_over(self, dst: Engine | None) -> Fenced | None:
        """For an agent's worker whose run met a fault: Fenced when the task was taken over
        meanwhile, which is what the fault then is. A worker paused past its lease meets
        its successor's doing first (a change log trimmed past its position, a row or lock
        the successor holds), before any batch reaches the destination's check; it must
        neither report that as the task's fault nor retry, only stop. The destination's
        epoch decides (what its next batch would meet), then the lease in the store (a
        successor that has not written yet)."""
        if self.epoch is None:
            return None
        try:
            saved = dst.read_checkpoint(self.name).get(EPOCH_KEY) if dst is not None else None
        except Exception:  # noqa: BLE001 - a destination that is away cannot say
            saved = None
        if saved is not None and fenced_off(saved, self.epoch):
            return taken_over(self.name, saved, self.epoch)
        try:
            now = self.store.get(self.name).epoch
        except TurnoutError:  # the store is away (or the task gone): the lease decides later
            return None
        return taken_over(self.name, now, self.epoch, "store") if now != self.epoch else None

    def _warn_superusers(self, *sides: Engine) -> None:
        """A warning event for each side the task reaches as a superuser (once, at its first
        precheck): it works, but a least-privilege account would contain a mistake."""
        for engine in sides:
            try:
                warning = accounts.engine_superuser_warning(engine)
            except Exception:  # noqa: BLE001 - a warning never fails a task
                continue
            if warning:
                self.progress.event("warning", warning)

    def _joining(self, spec: TaskSpec, saved: dict[str, str], plans: list[TablePlan],
                 had: frozenset[str]) -> list[str]:
        """Tables that began to match --tables while the task was stopped, once its capture
        and schema step had begun (migrate/joining.py): they join at their CREATE TABLE."""
        if (Phase.INCREMENTAL not in spec.types
                or not CAPTURE_START.present(self.store, self.name)
                or (Phase.SCHEMA in spec.types
                    and not SCHEMA_DONE.present(self.store, self.name))):
            return []
        return joining.joining([p.source.name for p in plans], saved, list(had))

    def _steps(self, spec: TaskSpec, src: Engine, dst: Engine, plans: list[TablePlan],
               late: list[str], renamed: dict[str, str]) -> TaskState:
        capture, start = None, None
        if Phase.INCREMENTAL in spec.types:
            capture, start = start_capture(self.store, self.name, src, plans, late)
            if late and not capture.ddl:
                raise joining.without_ddl(late, self.name)
            if late:
                self.progress.event("info", f"table {', '.join(late)} began to match --tables "
                                    "while the task was stopped: it joins at its CREATE TABLE "
                                    "in the change stream")
            capture.stall_timeout_s = spec.options.stall_timeout_s
            capture.follow_new_tables(spec.selects)
            if self.epoch is not None:
                fence.fence_acks(capture, self.store, self.name, self.epoch)
            self._capture = capture
        if Phase.SCHEMA in spec.types and not SCHEMA_DONE.present(self.store, self.name):
            self.progress.phase(Phase.SCHEMA)
            schema.create_tables(dst, plans, self.progress)
            if Phase.FULL not in spec.types:  # nothing to load first: keys and indexes now
                schema.create_indexes(dst, plans, self.progress)
            SCHEMA_DONE.set(self.store, self.name, True)
        if Phase.FULL in spec.types and not FULL_DONE.present(self.store, self.name):
            self.progress.phase(Phase.FULL)
            opts = spec.options
            if not full.copy_tables(
                src, dst, plans, self.name, self.throttle.chunk(opts.chunk_rows),
                self.progress, self.stop,
                allow_direct=opts.direct_copy and not self.throttle.counts_bytes,
                throttle=self.throttle,
                exported=capture.exported_snapshot() if capture else None,
                replayed=capture is not None,  # replay converges: workers may read later views
                placed=capture.view_position if capture else None,
            ):
                return TaskState.STOPPED
            if Phase.SCHEMA in spec.types:
                schema.create_indexes(dst, plans, self.progress)
            schema.sync_sequences(dst, plans, self.progress)
            FULL_DONE.set(self.store, self.name, True)
        if capture is None or start is None:
            return TaskState.COMPLETED
        self.progress.phase(Phase.INCREMENTAL)
        if self.on_incremental is not None:
            self.on_incremental()
        routes = {p.source.name: p.route for p in plans}
        incremental.follow(
            capture,
            dst,
            routes,
            self.name,
            start,
            self.throttle.chunk(spec.options.batch_changes),
            spec.options.poll_interval,
            self.progress,
            self.stop,
            on_truncate=spec.options.on_truncate,
            stall_timeout_s=spec.options.stall_timeout_s,
            beats_since=self.started,
            ddl=(ddl := self._ddl(spec, src, dst, capture, plans, routes, renamed)),
            throttle=self.throttle,
            awaiting=set(late),
        )
        # the tables as the stream's DDL left them (created, dropped or renamed since)
        schema.sync_sequences(dst, plans if ddl is None else list(ddl.plans.values()),
                              self.progress)
        return TaskState.STOPPED

    def _ddl(self, spec: TaskSpec, src: Engine, dst: Engine, capture: Capture,
             plans: list[TablePlan], routes: dict[str, Route],
             renamed: dict[str, str]) -> DdlApplier | None:
        """What makes the stream's DDL on the destination, when the capture brings DDL."""
        note = capture.ddl_note()
        if note and not checkpoints.DDL_NOTED.present(self.store, self.name):
            self.progress.event("info", note)
            checkpoints.DDL_NOTED.set(self.store, self.name, True)
        if not capture.ddl:
            return None
        checkpoints.clear(self.store, self.name, checkpoints.DDL_WAITING)
        resolved = checkpoints.DDL_RESOLVED.get(self.store, self.name) or {}
        return DdlApplier(spec, src, dst, {p.source.name: p for p in plans}, routes, resolved,
                          self.progress.event, renamed,
                          lambda old, new, dest: self.store.rename_table(self.name, old, new, dest))

    def _failed(self, message: str) -> TaskState:
        self.store.update(self.name, state=TaskState.FAILED, error=message)
        self.progress.event("error", message)
        return TaskState.FAILED


def _close_quietly(*things: Engine | Capture | None) -> None:
    """Close what a fault may have broken, in a thread of its own: closing cannot fail a run,
    and a connection stuck on a silent network cannot hold the retry up for long."""
    def close_all() -> None:
        for thing in things:
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - the connection is gone either way
                    pass

    closing = threading.Thread(target=close_all, name="turnout-close", daemon=True)
    closing.start()
    closing.join(CLOSE_WAIT_S)
