"""PostgreSQL's driver errors (psycopg for queries, psycopg2 for the replication stream) as
turnout's: which faults may pass, so a running task retries them, and which will not.

The server says what happened by SQLSTATE. Errors libpq raises itself (a refused
or lost connection, a timeout) carry none; for those the text tells, and an
error without a state that is not about authentication or a missing object is
a connection that went away.
"""

from __future__ import annotations

import sys
from typing import Any

from turnout.errors import OperationFailed, TransientError, TurnoutError, Unreachable

# classes and states worth a retry: connection exceptions, serialization failure,
# deadlock, lock not available, too many connections, out of resources, admin or crash
# shutdown, cannot connect now (starting up, in recovery), database dropped connection
_TRANSIENT_CLASSES = ("08", "53")
_TRANSIENT_STATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "57P05"}
# libpq's own words for a server it cannot reach or a connection it lost
_UNREACHABLE = (
    "connection refused", "timeout expired", "timed out", "could not connect",
    "server closed the connection", "starting up", "shutting down", "in recovery mode",
    "not yet accepting connections", "connection reset", "no route to host",
    "network is unreachable", "could not receive data", "could not send data",
    "too many clients", "temporary failure in name resolution", "terminating connection",
    "ssl syscall error", "eof detected", "connection is closed", "connection already closed",
    "consuming input failed", "sending query failed", "bad connection", "lost synchronization",
)


# TCP keep-alives and a limit on unacknowledged data, so a connection whose packets are
# dropped without a reset fails within about half a minute instead of hanging a worker
NET_OPTIONS = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
               "keepalives_count": 3, "tcp_user_timeout": 30_000}


def net_options(url: str) -> dict[str, Any]:
    """NET_OPTIONS for libpq, leaving out any the URL sets itself."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    return {k: v for k, v in NET_OPTIONS.items() if k not in given}


def reason(exc: BaseException) -> str:
    """The driver's message on one line: libpq's "connection failed:" prefix and the server's
    hint and context lines left out."""
    text = str(exc).strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    return line.removeprefix("connection failed: ")


def is_unreachable(exc: BaseException) -> bool:
    """Whether a connect() error means the server is down or restarting (retry later), not a
    wrong password, user or database (which no retry fixes)."""
    state = _state(exc)
    if state:
        return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES
    text = str(exc).lower()
    return any(words in text for words in _UNREACHABLE)


def classify(exc: BaseException) -> TurnoutError | None:
    """psycopg's or psycopg2's error as turnout's; None when it is neither's."""
    if not _is_driver_error(exc):
        return None
    where = _where(exc)
    if _transient(exc):
        return TransientError(f"{where}: {reason(exc)}")
    return OperationFailed(f"{where}: {reason(exc)}; fix this on the server and start the "
                           "task again")


def unreachable(endpoint: object, exc: BaseException) -> Unreachable:
    return Unreachable(f"cannot connect to {endpoint}: {reason(exc)}")


def _is_driver_error(exc: BaseException) -> bool:
    for name in ("psycopg", "psycopg2"):
        driver = sys.modules.get(name)
        if driver is not None and isinstance(exc, driver.Error):
            return True
    return False


def _state(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


def _transient(exc: BaseException) -> bool:
    state = _state(exc)
    if state:
        return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_STATES
    kind = type(exc).__name__
    if kind in ("OperationalError", "InterfaceError"):
        return is_unreachable(exc) or "authentication" not in str(exc).lower()
    return False


def _where(exc: BaseException) -> str:
    """The server the error came from, when the driver says (psycopg keeps the connection)."""
    pgconn: Any = getattr(exc, "pgconn", None)
    try:
        host = pgconn.host.decode() if pgconn is not None else ""
        port = pgconn.port.decode() if pgconn is not None else ""
    except Exception:  # noqa: BLE001 - a closed connection may not tell any more
        host = port = ""
    return f"PostgreSQL at {host}:{port}" if host else "PostgreSQL"
