"""GET /metrics: every task's figures in Prometheus text format, read from the store.

A task's worker runs in another process (or a thread here), so nothing is counted in
this server's memory: a custom collector reads each task's status, table progress and
the worker's saved figures (reconnects, apply batch histogram) at every scrape. Series
carry the task's name as the `task` label; endpoints and passwords are never labels.

`turnout agent --metrics-port` serves the same collector on a port of its own
(serve_agent), for the tasks that agent runs only, with the agent's own series beside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    start_wsgi_server,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from turnout import api, checkpoints
from turnout.errors import BadInput, NotFound
from turnout.migrate.batchtimes import BatchTimes
from turnout.model import TaskState
from turnout.store import Store

router = APIRouter()


class TaskCollector:
    """Collects every task's series from `store` when Prometheus scrapes; given an `agent`,
    only the tasks that agent runs (as the store's leases say), and the agent's series."""

    def __init__(self, store: Store, agent: str | None = None) -> None:
        self.store, self.agent = store, agent

    def describe(self) -> list[Metric]:
        return []  # the series depend on the tasks: the registry must not call collect early

    def collect(self) -> Iterator[Metric]:
        families = _families()
        names = [r.name for r in self.store.all_tasks()]
        if self.agent is not None:
            names = self._agent_series(families)
        for name in names:
            try:
                shown = api.task_status(name, self.store)
            except NotFound:  # deleted between the listing and now
                continue
            _add_task(families, shown, self.store)
        yield from families.values()

    def _agent_series(self, families: dict[str, Any]) -> list[str]:
        """The agent's own series; the tasks it runs."""
        me = [a for a in api.agent_list(self.store) if a["name"] == self.agent]
        tasks = [str(t) for t in me[0]["tasks"]] if me else []  # type: ignore[attr-defined]
        families["agent_tasks"] = GaugeMetricFamily(
            "turnout_agent_tasks", "Tasks this agent runs now.", labels=["agent"])
        families["agent_tasks"].add_metric([self.agent], len(tasks))
        families["agent_max"] = GaugeMetricFamily(
            "turnout_agent_max_tasks", "The most tasks this agent runs at once (--max-tasks).",
            labels=["agent"])
        if me:
            families["agent_max"].add_metric([self.agent], me[0]["max_tasks"])
        return tasks


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


def registry_for(store: Store, agent: str | None = None) -> CollectorRegistry:
    """A registry of its own (not the process-wide default, which tests would share)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskCollector(store, agent))  # type: ignore[arg-type]
    return registry


def serve_agent(agent: str, host: str, port: int,
                store: Store | None = None) -> tuple[str, Callable[[], None]]:
    """Serve GET /metrics for `agent`'s tasks on host:port, in a thread: where it answers,
    and what stops it."""
    registry = registry_for(store or Store(), agent)
    try:
        server, _ = start_wsgi_server(port, host, registry)
    except OSError as exc:
        raise BadInput(f"--metrics-port {port} cannot listen on {host}: {exc.strerror}: "
                       "pick another port or --metrics-host") from None

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://{host}:{server.server_port}/metrics", stop


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format; plain (not async) since reading the store blocks."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
