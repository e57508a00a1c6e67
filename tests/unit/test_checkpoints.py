"""Checkpoints written before checkpoints.py (data/checkpoints_before_typed.json) load
through its typed accessors unchanged, and writing the same values back gives the same text.

The fixture's rows come from a SQLite task run by the code before this module (switched
over, its reverse task prepared), plus span states that code wrote for a table cut into
ranges, and the rows a retry, heartbeats and a rollback under way wrote, in their forms.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from turnout import checkpoints, engines
from turnout.checkpoints import SpanState
from turnout.migrate.plan import TablePlan
from turnout.migrate.spans import saved_spans
from turnout.model import Column, Table
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.switchover import procedure
from turnout.types import CanonicalType, Kind

BEFORE = json.loads((Path(__file__).parent / "data" / "checkpoints_before_typed.json")
                    .read_text())


@pytest.fixture()
def old_store(tmp_path: Path) -> Store:
    """A store holding the fixture's rows, written as text the way the old code wrote them."""
    store = Store(tmp_path / "home")
    for name in sorted({task for task, _, _ in BEFORE["store"]}):
        store.create_task(TaskSpec(name, f"sqlite:///{tmp_path}/a.db",
                                   f"sqlite:///{tmp_path}/b.db"))
    for task, key, value in BEFORE["store"]:
        store.set_checkpoint(task, key, value)
    return store


def test_every_key_a_store_held_has_a_typed_checkpoint(old_store: Store) -> None:
    assert {key for _, key, _ in BEFORE["store"]} <= set(checkpoints.MARKS)


def test_a_store_written_before_reads_typed(old_store: Store) -> None:
    assert checkpoints.PRECHECKED.present(old_store, "shop")
    assert checkpoints.SCHEMA_DONE.present(old_store, "shop")
    assert not checkpoints.SCHEMA_DONE.present(old_store, "shop-reverse")
    assert checkpoints.CAPTURE_START.get(old_store, "shop") == '{"engine": "sqlite", "seq": 0}'
    assert checkpoints.STRAY_ROWS.get(old_store, "shop") == 0
    assert checkpoints.STRAY_ROWS.get(old_store, "shop-reverse") is None
    assert checkpoints.HEARTBEAT_APPLIED.get(old_store, "shop") == 1796598630.5123456
    assert (checkpoints.DETAIL.get(old_store, "shop") or "").startswith("reconnecting (attempt 2")
    assert checkpoints.SWITCHOVER_STEP.get(old_store, "shop") == "switched"
    assert checkpoints.SWITCHOVER_FROZE.present(old_store, "shop")
    assert checkpoints.ROLLBACK_STEP.get(old_store, "shop") == "drained"
    assert checkpoints.ROLLBACK_MOVED_AT.get(old_store, "shop") is None
    assert procedure.downtime(old_store, "shop") == pytest.approx(0.2902124)
    assert procedure.downtime(old_store, "shop", checkpoints.ROLLBACK_FROZEN_AT,
                              checkpoints.ROLLBACK_MOVED_AT) == 0.0  # not moved yet


def test_values_written_back_keep_their_text(old_store: Store) -> None:
    for task, key, text in BEFORE["store"]:
        mark = checkpoints.MARKS[key]
        mark.set(old_store, task, mark.get(old_store, task))
        assert old_store.checkpoint(task, key) == text, key


def test_clear_forgets_only_the_checkpoints_named(old_store: Store) -> None:
    checkpoints.clear(old_store, "shop", *checkpoints.ROLLBACK)
    assert checkpoints.ROLLBACK_STEP.get(old_store, "shop") is None
    assert checkpoints.SWITCHOVER_STEP.get(old_store, "shop") == "switched"


def _item() -> TablePlan:
    columns = (Column("id", CanonicalType(Kind.INT64)), Column("name", CanonicalType(Kind.TEXT)))
    table = Table("item", columns, primary_key=("id",))
    return TablePlan(table, table)


def _keyless() -> TablePlan:
    table = Table("logs", (Column("msg", CanonicalType(Kind.TEXT)),))
    return TablePlan(table, table)


@pytest.fixture()
def old_dest(tmp_path: Path) -> dict[str, dict[str, str]]:
    """Each owner's checkpoints as the engine reads them back from a destination whose
    checkpoint table the old code wrote (its layout then, filled with the fixture's rows)."""
    path = tmp_path / "dest.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE _turnout_checkpoint (owner TEXT NOT NULL, name TEXT NOT NULL, "
                   "value TEXT NOT NULL, PRIMARY KEY (owner, name))")
        db.executemany("INSERT INTO _turnout_checkpoint VALUES (?, ?, ?)", BEFORE["dest"])
    db.close()
    engine = engines.connect(f"sqlite:///{path}")
    try:
        return {owner: engine.read_checkpoint(owner) for owner in ("shop", "split")}
    finally:
        engine.close()


def test_a_destination_written_before_resumes(old_dest: dict[str, dict[str, str]],
                                              old_store: Store) -> None:
    saved = old_dest["shop"]
    [whole] = saved_spans(_item(), saved)
    assert (whole.lo, whole.hi, whole.after, whole.rows, whole.done) == (None, None, (10,), 10,
                                                                         True)
    [logs] = saved_spans(_keyless(), saved)
    assert (logs.after, logs.rows, logs.done) == (None, 2, True)
    assert checkpoints.copied_at(saved) == {"logs": '{"engine": "sqlite", "seq": 0}'}
    assert checkpoints.applied_up_to(saved, old_store, "shop") == '{"engine": "sqlite", "seq": 1}'
    # before its first batch a task stands where its capture started
    assert checkpoints.applied_up_to({}, old_store, "shop") == '{"engine": "sqlite", "seq": 0}'


def test_spans_of_a_table_cut_into_ranges_resume_as_cut(
        old_dest: dict[str, dict[str, str]]) -> None:
    spans = saved_spans(_item(), old_dest["split"])
    assert [(s.lo, s.hi, s.after, s.rows, s.done) for s in spans] == [
        (None, (4,), (3,), 3, False),
        ((4,), (8,), (8,), 4, True),
        ((dt.date(2024, 1, 2), b"\x00\xff"), None, None, 0, False),
        ((8,), None, (9, "x\u00e9"), 2, False),
    ]
    assert spans[3].at == '{"engine": "sqlite", "seq": 5}'
    for span in spans:  # saved again as they are: the same text
        assert span.state(span.rows, span.after, span.done) == old_dest["split"][span.name]


def test_span_state_text_keeps_its_key_order() -> None:
    state = SpanState(after=(3,), rows=3, done=False, at="p", bounds=(None, (4,)))
    assert state.to_text() == ('{"lo": null, "hi": "[4]", "after": "[3]", "rows": 3, '
                               '"done": false, "at": "p"}')
    assert SpanState.from_text(state.to_text(), bounded=True) == state
    assert SpanState.from_text("null", bounded=False) == SpanState()
