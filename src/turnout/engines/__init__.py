"""Engines by URL scheme (the list is in turnout.schemes: one line per engine).

Drivers are imported only when their engine is used, so the core installs
without every database client.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from typing import Any

from turnout.endpoint import Endpoint
from turnout.engines.base import Engine
from turnout.engines.capture import bounded_capture_wait
from turnout.errors import BadInput, TransientError, TurnoutError, Unsupported
from turnout.model import Position
from turnout.schemes import DRIVERS
from turnout.schemes import ENGINES as _ENGINES

__all__ = ["bounded_capture_wait", "classify", "connect", "engine_class", "position_from_json"]


def engine_class(scheme: str) -> type[Engine]:
    target = _ENGINES.get(scheme)
    if target is None:
        raise Unsupported(
            f"the {scheme} engine is not available yet in this version: "
            f"supported now: {', '.join(sorted(_ENGINES))}"
        )
    require_drivers(scheme)
    module, _, attr = target.partition(":")
    cls: type[Engine] = getattr(importlib.import_module(module), attr)
    return cls


def require_drivers(scheme: str) -> None:
    """BadInput naming the extra to install when a driver the engine imports is missing:
    found now, in one line, rather than as an import error when the first query runs."""
    extra, modules = DRIVERS.get(scheme, ("", ()))
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise BadInput(f"the {scheme} engine needs the {', '.join(missing)} driver"
                       f"{'s' if len(missing) > 1 else ''}, not installed here: "
                       f"pip install 'turnout[{extra}]'")


def connect(url: str | Endpoint, *, create: bool = False) -> Engine:
    """Open an engine on a URL. `create` lets a destination that does not exist yet be made."""
    endpoint = url if isinstance(url, Endpoint) else Endpoint.parse(url)
    if endpoint.sealed:
        raise BadInput(
            f"the password for {endpoint} is sealed with a key this store no longer has "
            "(secret.key beside turnout.db is missing or was replaced): delete the task "
            "(--force if it cannot clean up) and create it again with the password"
        )
    return engine_class(endpoint.scheme)(endpoint, create=create)


def position_from_json(text: str) -> Position:
    data: dict[str, Any] = json.loads(text)
    scheme = data.pop("engine")
    return engine_class(scheme).position_from_dict(data)


def classify(exc: BaseException) -> TurnoutError | None:
    """A raw error as turnout's, asking each engine whose drivers are loaded (only those can
    have raised it); None when no engine claims it. A socket error no driver wrapped is a lost
    connection too."""
    if isinstance(exc, TurnoutError):
        return exc
    for target in _ENGINES.values():
        module, _, attr = target.partition(":")
        if module in sys.modules:
            found = getattr(sys.modules[module], attr).classify_error(exc)
            if found is not None:
                return found
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return TransientError(f"connection lost: {exc or type(exc).__name__}")
    return None

