"""What the MySQL helper modules ask of the engine: a small protocol instead of `Any`.

accounts.py, sessions.py, grants.py and heartbeat.py run statements on the
engine's own connection and name its URL in messages; the binlog capture
(capture.py, events.py) also opens connections of its own and reads the
URL's options. Typing them against these protocols, not MysqlEngine, says
exactly what they use and lets engine.py import them without their importing
it back.
"""

from __future__ import annotations

from typing import Any, Protocol

from turnout.endpoint import Endpoint
from turnout.model import Table
from turnout.types import Kind


class MysqlLink(Protocol):
    """A connected MySQL or MariaDB database (MysqlEngine is one)."""

    endpoint: Endpoint  # for messages: the URL without its password
    database: str  # the database the URL names
    settings: dict[str, Any]  # PyMySQL connect() arguments (host, port, user, ...)

    def one(self, sql: str, params: Any = None) -> Any:
        """The first column of the first row (None without a row)."""

    def all(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Every row."""

    def execute(self, sql: str, params: Any = None) -> None:
        """Run a statement that returns nothing, in autocommit."""

    def table_exists(self, name: str) -> bool:
        """Whether the database holds a table of that name."""


class MysqlSource(MysqlLink, Protocol):
    """A MySQL or MariaDB database changes are captured from (MysqlEngine is one)."""

    conn: Any  # the engine's own PyMySQL connection
    mariadb: bool  # MariaDB rather than MySQL: how GTIDs and positions are spelled
    options: dict[str, str]  # turnout's own URL options (zero_dates, tinyint1, resume_by)
    own_types: dict[Kind, str]  # canonical kinds the server keeps in types of its own

    def reflect(self, names: list[str]) -> list[Table]:
        """The tables as the catalog has them now."""

    def connect(self, create: bool = False) -> Any:
        """A new PyMySQL connection to the database, set up as the engine's own."""
