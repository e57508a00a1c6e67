"""mysqlclient (the C driver, `MySQLdb`) connections for the full step's bulk reads and loads.

PyMySQL parses every row and escapes every value in Python, which was most
of a full copy's time; mysqlclient does both in C (a 1,000,000-row sysbench
table reads in about a third of the time). The engine keeps PyMySQL for
everything else: python-mysql-replication needs it for capture, and its
connections carry the `program_name` attribute that marks turnout's own
sessions, which mysqlclient cannot set.

Values come back as PyMySQL gives them, with one exception made equal here:
mysqlclient turns a date it cannot parse (a zero date) into NULL, which
would silently lose the difference values.py refuses or keeps on purpose,
so dates that do not parse stay text, as PyMySQL returns them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from turnout.endpoint import Endpoint
from turnout.errors import OperationFailed, TransientError

RETRY = (1205, 1213)  # lock wait timeout, deadlock
READ_ONLY = 1290


def connect(settings: dict[str, Any], setup: str, *, local_infile: bool = False) -> Any:
    """A mysqlclient connection with the engine's connection settings, after `setup` ran.

    `local_infile` lets LOAD DATA LOCAL send files from this side (loads only).
    """
    import MySQLdb

    args = {k: v for k, v in settings.items() if k != "program_name"}
    conn = MySQLdb.connect(**args, conv=_conversions(), binary_prefix=True,
                           local_infile=int(local_infile))
    with conn.cursor() as cur:
        cur.execute(setup)
    return conn


def _conversions() -> dict[Any, Any]:
    """mysqlclient's conversions, with unparsable dates kept as their text."""
    from MySQLdb import converters, times
    from MySQLdb.constants import FIELD_TYPE

    conv = dict(converters.conversions)
    conv[FIELD_TYPE.DATE] = _or_text(times.Date_or_None)
    conv[FIELD_TYPE.DATETIME] = _or_text(times.DateTime_or_None)
    conv[FIELD_TYPE.TIMESTAMP] = _or_text(times.DateTime_or_None)
    return conv


def _or_text(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        value = parse(text)
        return text if value is None else value

    return convert


@contextmanager
def write_errors(endpoint: Endpoint) -> Iterator[None]:
    """mysqlclient's errors of a write transaction as turnout's (as the engine's _write maps
    PyMySQL's): lock waits and deadlocks are worth a retry, a read-only server is not."""
    import MySQLdb

    try:
        yield
    except MySQLdb.OperationalError as exc:
        if exc.args[0] in RETRY:
            raise TransientError(f"{endpoint}: {exc.args[-1]}") from None
        if exc.args[0] == READ_ONLY:
            raise OperationFailed(f"{endpoint} refuses writes: {exc.args[-1]}") from None
        raise


@contextmanager
def unchecked_transaction(conn: Any) -> Iterator[Any]:
    """A cursor inside one transaction with foreign keys unchecked, as a replica applies and
    every load writes (children may arrive before their parents); PyMySQL or mysqlclient."""
    with conn.cursor() as cur:
        cur.execute("SET foreign_key_checks = 0")
        cur.execute("BEGIN")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.execute("SET foreign_key_checks = 1")
