"""`turnout switchover --abort`: undo a switchover, or a rollback, that has not finished.

Before the switchover's last step it goes back to the forward task running on an open
source; after it, with a rollback under way, back to the switched state (the destination
open, the reverse task running). Above procedure.py and back.py, which never call it.
"""

from __future__ import annotations

from typing import Any

from turnout import tasks
from turnout.checkpoints import (
    ROLLBACK,
    ROLLBACK_STEP,
    SWITCHOVER,
    SWITCHOVER_DEST_FROZE,
    SWITCHOVER_STEP,
    clear,
)
from turnout.errors import BadInput
from turnout.model import Phase
from turnout.store import Store
from turnout.switchover import steps
from turnout.switchover.procedure import STEPS
from turnout.switchover.reverse import reverse_name


def abort(name: str, store: Store | None = None, say: steps.Say = lambda _: None,
          ) -> dict[str, Any]:
    """Undo a switchover that has not finished: back to the forward task running. During a
    rollback that has not finished, undo the rollback instead: back to the switched state."""
    store = store or Store()
    log = steps.Journal(store, name, say)
    done = SWITCHOVER_STEP.get(store, name)
    if done == STEPS[-1]:
        if ROLLBACK_STEP.present(store, name):
            return _rollback(name, store, log)
        raise BadInput(f"task {name} has switched over: `turnout rollback {name}` moves back")
    spec = store.get(name).spec
    reverse = reverse_name(name)
    if done in ("opened", "moved", "reverse_started"):
        log(f"the destination was open to the application: writes made there since are not "
            f"carried back to the source by an aborted switchover; `turnout verify {name}` "
            "shows them", "warning")
    if reverse in {r.name for r in store.all_tasks()}:
        steps.stop_if_running(store, reverse)
        tasks.delete_task(reverse, store)
        log(f"reverse task {reverse} deleted")
    if done in STEPS[STEPS.index("drained"):]:  # drained, the source fenced since
        steps.forward_from_marker(spec, name, store.get(name).capture_name, log)
    steps.lift_fence(spec.source, log)  # whatever step it died in
    if SWITCHOVER_DEST_FROZE.present(store, name):
        steps.lift_fence(spec.dest, log)
    clear(store, name, *SWITCHOVER)
    restarted = False
    if Phase.INCREMENTAL in spec.types and tasks.status(name, store).pid is None:
        tasks.start_task(name, store)
        restarted = True
    log(f"switchover aborted after step {done or 'none'}; writes allowed on the source"
        + ("; forward task started again" if restarted else ""))
    return {"task": name, "aborted_after": done, "forward_restarted": restarted}


def _rollback(name: str, store: Store, log: steps.Journal) -> dict[str, Any]:
    """Undo a rollback that has not finished: the destination open, the reverse task running."""
    done = ROLLBACK_STEP.get(store, name)
    if done in ("opened", "moved", "forward_started"):
        raise BadInput(f"the rollback of {name} has opened the source already: run "
                       f"`turnout rollback {name}` to finish it")
    spec = store.get(name).spec
    reverse = reverse_name(name)
    steps.lift_fence(spec.dest, log)
    if tasks.status(reverse, store).pid is None:
        tasks.start_task(reverse, store)
    tasks.wait_until(reverse, lambda s: s.following, 60, store)
    clear(store, name, *ROLLBACK)
    log(f"rollback aborted after step {done}: the workload stays on {spec.dest_endpoint}, "
        f"the reverse task {reverse} runs, the source stays fenced")
    return {"task": name, "aborted_after": done, "forward_restarted": False}
