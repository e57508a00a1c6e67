"""TaskStatus: what its properties say, and its JSON form where the contract test's runs do
not reach (a source not checked, one that did not answer)."""

from __future__ import annotations

from turnout.model import Phase, TaskState
from turnout.status import TableProgress, TaskProgress, TaskStatus


def status(state: TaskState = TaskState.MIGRATING, phase: Phase | None = Phase.INCREMENTAL,
           **fields: object) -> TaskStatus:
    progress = TaskProgress(phase=phase, delay_s=0.0, position='{"seq": 3}', changes_applied=3,
                            tables=(TableProgress("a", "b", 2, 2, True),))
    return TaskStatus("t", state, "sqlite:///a.db", "sqlite:///b.db",
                      (Phase.FULL, Phase.INCREMENTAL), 5.5, progress, **fields)  # type: ignore[arg-type]


def test_following_and_ended() -> None:
    assert status().following
    assert not status(phase=Phase.FULL).following
    assert not status(TaskState.STOPPED).following
    assert [status(s).ended for s in TaskState] == [
        s in (TaskState.STOPPED, TaskState.COMPLETED, TaskState.FAILED) for s in TaskState]


def test_json_keeps_the_contract_order_and_types() -> None:
    out = status(pid=42).to_json()
    assert list(out) == ["name", "state", "phase", "phase_title", "delay_s", "pid", "error",
                         "source", "dest", "types", "position", "changes_applied", "updated",
                         "tables", "stray_rows", "heartbeat_delay_s", "detail", "agent",
                         "lease_expires"]
    assert out["state"] == "Migrating" and out["phase"] == "incremental"
    assert out["phase_title"] == "Incremental Data Migration"
    assert out["types"] == ["full", "incremental"] and out["pid"] == 42
    assert out["tables"] == [{"source": "a", "dest": "b", "rows_copied": 2, "rows_total": 2,
                              "done": True}]


def test_leftover_slots_only_when_the_source_was_asked() -> None:
    assert "leftover_slots" not in status().to_json()
    assert status(source_checked=True).to_json()["leftover_slots"] is None  # no answer
    asked = status(source_checked=True, leftover_slots=("old_slot",)).to_json()
    assert list(asked)[-1] == "leftover_slots" and asked["leftover_slots"] == ["old_slot"]


def test_a_task_never_run_has_no_phase() -> None:
    out = status(TaskState.NOT_STARTED, phase=None).to_json()
    assert out["phase"] is None and out["phase_title"] is None
