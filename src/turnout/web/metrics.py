"""GET /metrics: every task's figures in Prometheus text format, read from the store.

A task's worker runs in another process (or a thread here), so nothing is counted in
this server's memory: a custom collector reads each task's status, table progress and
the worker's saved figures (reconnects, apply batch histogram) at every scrape. Series
carry the task's name as the `task` label; endpoints and passwords are never labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from turnout import api, checkpoints
from turnout.errors import NotFound
from turnout.migrate.batchtimes import BatchTimes
from turnout.model import TaskState
from turnout.store import Store

router = APIRouter()


class TaskCollector:
    """Collects every task's series from `store` when Prometheus scrapes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        return []  # the series depend on the tasks: the registry must not call collect early

    def collect(self) -> Iterator[Metric]:
        families = _families()
        for record in self.store.all_tasks():
            try:
                shown = api.task_status(record.name, self.store)
            except NotFound:  # deleted between the listing and now
                continue
            _add_task(families, shown, self.store)
        yield from families.values()


def _families() -> dict[str, Any]:
    task = ["task"]
    return {
        "delay": GaugeMetricFamily(
            "turnout_task_delay_seconds", "How far the destination is behind the source "
            "(only while the task runs).", labels=task),
        "rows": CounterMetricFamily(
            "turnout_task_rows_copied", "Rows copied by the full step, per table.",
            labels=["task", "table"]),
        "changes": CounterMetricFamily(
            "turnout_task_changes_applied", "Changes applied by the incremental step.",
            labels=task),
        "state": GaugeMetricFamily(
            "turnout_task_state", "1 for the task's state, 0 for the others.",
            labels=["task", "state"]),
        "batches": HistogramMetricFamily(
            "turnout_task_apply_batch_duration_seconds",
            "How long each incremental apply batch took on the destination.", labels=task),
        "reconnects": CounterMetricFamily(
            "turnout_task_reconnects", "Retries after a lost connection or another "
            "transient fault.", labels=task),
        "differences": GaugeMetricFamily(
            "turnout_task_verify_differences", "Rows the last verification while following "
            "(the stray-row check) found differing.", labels=task),
    }


def _add_task(families: dict[str, Any], shown: dict[str, Any], store: Store) -> None:
    """One task's samples (from its `task status --json` form), added to each family."""
    name = shown["name"]
    if shown["delay_s"] is not None:
        families["delay"].add_metric([name], shown["delay_s"])
    for table in shown["tables"]:
        families["rows"].add_metric([name, table["source"]], table["rows_copied"])
    families["changes"].add_metric([name], shown["changes_applied"])
    for state in TaskState:
        families["state"].add_metric([name, state.value],
                                     1.0 if state.value == shown["state"] else 0.0)
    batches = BatchTimes.from_json(checkpoints.APPLY_BATCHES.get(store, name))
    families["batches"].add_metric([name], batches.buckets(), batches.total_s)
    families["reconnects"].add_metric([name], checkpoints.RECONNECTS.get(store, name) or 0)
    families["differences"].add_metric([name], shown["stray_rows"])


def registry_for(store: Store) -> CollectorRegistry:
    """A registry of its own (not the process-wide default, which tests would share)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskCollector(store))  # type: ignore[arg-type]
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format; plain (not async) since reading the store blocks."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
