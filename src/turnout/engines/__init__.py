"""Engines by URL scheme. Adding an engine is one module and one line here.

Drivers are imported only when their engine is used, so the core installs
without every database client.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from turnout.endpoint import Endpoint
from turnout.engines.base import Engine
from turnout.errors import Unsupported
from turnout.model import Position

_ENGINES = {
    "sqlite": "turnout.engines.sqlite:SqliteEngine",
    "postgresql": "turnout.engines.postgres:PostgresEngine",
    "mysql": "turnout.engines.mysql:MysqlEngine",
}


def engine_class(scheme: str) -> type[Engine]:
    target = _ENGINES.get(scheme)
    if target is None:
        raise Unsupported(
            f"the {scheme} engine is not available yet in this version: "
            f"supported now: {', '.join(sorted(_ENGINES))}"
        )
    module, _, attr = target.partition(":")
    cls: type[Engine] = getattr(importlib.import_module(module), attr)
    return cls


def connect(url: str | Endpoint, *, create: bool = False) -> Engine:
    """Open an engine on a URL. `create` lets a destination that does not exist yet be made."""
    endpoint = url if isinstance(url, Endpoint) else Endpoint.parse(url)
    return engine_class(endpoint.scheme)(endpoint, create=create)


def position_from_json(text: str) -> Position:
    data: dict[str, Any] = json.loads(text)
    scheme = data.pop("engine")
    return engine_class(scheme).position_from_dict(data)
