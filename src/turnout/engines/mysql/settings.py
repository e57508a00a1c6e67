"""What a MySQL URL says: PyMySQL's connect() arguments, turnout's own options
(`zero_dates`, `tinyint1`, `resume_by`, `unix_socket`; the package docstring says what
each does), the statement every connection starts with, and what the server's version
adds (MariaDB's own uuid type)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from turnout.endpoint import Endpoint
from turnout.errors import BadInput
from turnout.types import Kind

SESSION_SETUP = (
    "SET NAMES utf8mb4, time_zone = '+00:00', "
    "sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'"
)
_OPTIONS = {"zero_dates": ("refuse", "null"), "tinyint1": ("boolean", "int"),
            "resume_by": ("file", "gtid")}


def connection_settings(endpoint: Endpoint) -> tuple[dict[str, Any], dict[str, str]]:
    """PyMySQL connect() arguments for the URL, and turnout's own options from its query."""
    parts = urlsplit(endpoint.url)
    params = dict(parse_qsl(parts.query))
    options = {name: params.pop(name, values[0]) for name, values in _OPTIONS.items()}
    for name, value in options.items():
        if value not in _OPTIONS[name]:
            raise BadInput(f"{name}={value} in {endpoint}: use one of {', '.join(_OPTIONS[name])}")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise BadInput(f"{endpoint} names no database: write mysql://user@host/database")
    settings: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
        "charset": "utf8mb4",
        "autocommit": True,
        "connect_timeout": 10,
        "program_name": "turnout",
    }
    if "unix_socket" in params:
        settings["unix_socket"] = params.pop("unix_socket")
    if params:
        raise BadInput(f"unknown URL option {', '.join(params)} in {endpoint}")
    return settings, options


def own_types(version: str) -> dict[Kind, str]:
    """Canonical kinds the server holds in a type of its own: MariaDB 10.7+ has uuid."""
    found = re.match(r"(\d+)\.(\d+)", version)
    release = (int(found[1]), int(found[2])) if found else (0, 0)
    return {Kind.UUID: "uuid"} if "mariadb" in version.lower() and release >= (10, 7) else {}
