"""The sessions (clients) of a database: listed, and ended on request, never turnout's own.

What `turnout sessions` and the console's sessions panel show; the engines say how each
server lists and ends them (engines/<engine>/sessions.py).
"""

from __future__ import annotations

import time

from turnout import engines
from turnout.endpoint import Endpoint
from turnout.engines.base import Engine
from turnout.errors import BadInput, NotFound, Unsupported
from turnout.model import Session
from turnout.store import Store


def sessions(url: str) -> list[Session]:
    engine = engines.connect(url)
    try:
        return engine.sessions()
    finally:
        engine.close()


def end_sessions(url: str, ids: list[str]) -> list[Session]:
    """Disconnect the sessions with these ids (never turnout's own); the sessions left."""
    endpoint = Endpoint.parse(url)
    engine = engines.connect(endpoint)
    try:
        listed = {s.id: s for s in engine.sessions()}
        for sid in ids:  # a wrong id is the caller's mistake on any engine: say that first
            if sid not in listed:
                raise NotFound(f"no session {sid} on {engine.endpoint}: `turnout sessions` lists "
                               "them")
            if listed[sid].own:
                raise BadInput(f"session {sid} is turnout's own: stop its task instead")
        if not engine.capabilities.end_sessions:
            raise Unsupported(f"{endpoint} cannot end sessions: stop the programs holding it")
        engine.end_sessions(ids)
        return _sessions_without(engine, set(ids))
    finally:
        engine.close()


def _sessions_without(engine: Engine, ended: set[str], timeout: float = 5.0) -> list[Session]:
    """The sessions, once the ended ones have left: a server ends a session a moment after
    it is asked to (PostgreSQL signals the backend), and listing it as still there would
    tell the user the request failed."""
    deadline = time.monotonic() + timeout
    while True:
        left = engine.sessions()
        if not ended & {s.id for s in left} or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def task_sessions(name: str, side: str, end: list[str] | None = None,
                  store: Store | None = None) -> list[Session]:
    """Sessions of the task's source or destination ("source" / "dest"), ending `end` first.

    Callers name the side, not the URL, so the password in the task's URL never leaves the
    store.
    """
    store = store or Store()
    spec = store.get(name).spec
    if side not in ("source", "dest"):
        raise BadInput(f"side {side!r} is neither source nor dest")
    url = spec.source_endpoint.url if side == "source" else spec.dest_endpoint.url
    return end_sessions(url, end) if end else sessions(url)
