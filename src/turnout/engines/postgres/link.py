"""What the PostgreSQL helper modules ask of the engine: a small protocol instead of `Any`.

accounts.py runs statements on the engine's own connection, in its schema, and
names its URL in messages. Typing it against this protocol, not PostgresEngine,
says exactly what it uses and lets engine.py import it without its importing
the engine back.
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
