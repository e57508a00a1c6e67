"""PATCH /api/tasks/{name}/options: `turnout task set` over HTTP, also while the task runs
(a running worker takes new throttling within a second)."""

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
