"""What the PostgreSQL helper modules ask of the engine: a small protocol instead of `Any`.

accounts.py runs statements on the engine's own connection, in its schema, and
names its URL in messages; the capture (capture.py) also opens connections of
its own. Typing them against these protocols, not PostgresEngine, says exactly
what they use and lets engine.py import them without their importing it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from turnout.endpoint import Endpoint

if TYPE_CHECKING:
    import psycopg


class PgLink(Protocol):
    """A connected PostgreSQL database and schema (PostgresEngine is one)."""

    endpoint: Endpoint  # for messages: the URL without its password
    schema: str  # the schema the URL names (?schema=, public by default)
    conn: psycopg.Connection[Any]  # the engine's own connection, in autocommit


class PgSource(PgLink, Protocol):
    """A PostgreSQL database changes are captured from (PostgresEngine is one)."""

    url: str  # the libpq URL, without turnout's own schema= parameter

    def connect(self) -> Any:
        """A new connection to the database, set up as the engine's own."""
