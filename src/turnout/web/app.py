"""The FastAPI application: the API router behind an optional token, and the console's pages.

The pages are static HTML and vanilla JavaScript that call the same API, so they hold no
data and need no token to load; every /api/ call carries the token as a bearer header.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from turnout import api
from turnout.store import Store
from turnout.web import errors, metrics, operating, routes, switching
from turnout.web.jobs import Jobs

STATIC = Path(__file__).parent / "static"
PAGES = {"/": "index.html", "/new": "new.html", "/login": "login.html"}

bearer = HTTPBearer(auto_error=False, description="the token given to `turnout serve`")


def create_app(token: str | None = None, home: Path | None = None) -> FastAPI:
    """The app for one store (`home`, default $TURNOUT_HOME); `token` guards every /api/ call."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweep_stop = threading.Event()  # a worker killed with -9: marked Failed, alerted
        api.DeadWorkerSweep(app.state.store, sweep_stop).start()
        yield
        sweep_stop.set()
        api.stop_tasks_here()  # the tasks this server runs stop cleanly with it

    app = FastAPI(
        title="turnout",
        version=_version(),
        description="Migrate live databases: tasks, progress, verification and sessions.",
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json is here
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = Store(home)
    app.state.jobs = Jobs()
    app.state.switches = Jobs()
    errors.install(app)
    guard = [Depends(token_check(token))] if token is not None else []
    app.include_router(routes.router, dependencies=guard)
    app.include_router(switching.router, dependencies=guard)
    app.include_router(operating.router, dependencies=guard)
    app.state.metrics = metrics.registry_for(app.state.store)
    app.include_router(metrics.router, dependencies=guard)  # scrapers send the token too
    _pages(app)
    return app


def token_check(token: str) -> Callable[..., None]:
    """A dependency refusing API calls without `Authorization: Bearer <token>`; it also puts
    the bearer scheme into /openapi.json, so clients see the API needs it."""

    def check(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                     Depends(bearer)]) -> None:
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401, "this server needs its token: send `Authorization: Bearer <token>` "
                     "(the console asks for it at /login)",
                headers={"WWW-Authenticate": "Bearer"})

    return check


def _pages(app: FastAPI) -> None:
    """The console: a few static pages; the task page reads the task's name from its URL."""
    for path, filename in PAGES.items():
        app.add_api_route(path, _page(filename), include_in_schema=False)
    app.add_api_route("/tasks/{name}", _page("task.html"), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _page(filename: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(STATIC / filename, headers={"Cache-Control": "no-cache"})

    return page


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("turnout")
    except PackageNotFoundError:
        return "0"
