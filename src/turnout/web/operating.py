"""A task's throttling and alerts over HTTP, also while it runs: `turnout task set` as
PATCH /api/tasks/{name}/options and /alerts (a running worker takes new throttling and
alerts within a second), and GET /api/tasks/{name}/settings to show them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from turnout import api
from turnout.web import models
from turnout.web.routes import ERRORS, StoreDep, TaskName

router = APIRouter(prefix="/api", responses=ERRORS)


@router.patch("/tasks/{name}/options", response_model=models.TaskStatus, tags=["tasks"])
def set_options(name: TaskName, body: models.TaskOptions, store: StoreDep) -> dict[str, Any]:
    """Change the options given (others stay as they are); the task as it is then."""
    chosen = {k: str(v) for k, v in body.model_dump().items() if v is not None}
    if chosen:
        api.set_options(name, chosen, store)
    return api.task_status(name, store)


@router.get("/tasks/{name}/settings", response_model=models.TaskSettings, tags=["tasks"])
def get_settings(name: TaskName, store: StoreDep) -> dict[str, Any]:
    """The task's throttling and alerts (the webhook as its scheme and host only)."""
    return api.settings(name, store)


@router.patch("/tasks/{name}/alerts", response_model=models.TaskSettings, tags=["tasks"])
def set_alerts(name: TaskName, body: models.AlertsChange, store: StoreDep) -> dict[str, Any]:
    """Change the alerts given (others stay as they are; webhook "" removes it)."""
    chosen = {"alerts." + k: str(v) for k, v in body.model_dump().items() if v is not None}
    if chosen:
        api.set_options(name, chosen, store)
    return api.settings(name, store)
