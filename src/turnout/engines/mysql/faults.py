"""MySQL's driver errors (PyMySQL, mysqlclient's MySQLdb, and PyMySQL under the binlog
stream) as turnout's: which faults may pass, so a running task retries them, and which
will not. Both drivers carry the server's or client library's error number first.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from turnout.errors import OperationFailed, TransientError, TurnoutError, Unreachable

# the server cannot be reached now: cannot connect (socket, TCP), too many connections,
# server shutting down, resolver failure, no greeting in time or the connection lost in it
UNREACHABLE = (1040, 1053, 2002, 2003, 2005, 2006, 2013)
# worth a retry once connected: lost connection (gone away, lost during query, lost at
# handshake, lost at reading), connection killed, disconnected for inactivity, lock wait
# timeout, deadlock, query interrupted by a shutdown, out of memory for the moment
TRANSIENT = (*UNREACHABLE, 2055, 1927, 4031, 1205, 1213, 1317, 1037, 1158, 1159,
             1160, 1161)


# keep-alive probes after 10 s of silence, every 5 s, 3 of them; unacknowledged data for
# 30 s: a connection whose packets are dropped without a reset fails instead of hanging
_KEEPALIVE = (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3),
              ("TCP_USER_TIMEOUT", 30_000))


def tune_socket(conn: Any) -> None:
    """TCP keep-alives and a user timeout on a PyMySQL connection's socket (Linux names;
    where the system lacks one it is left out, and a Unix socket needs none)."""
    sock = getattr(conn, "_sock", None)
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in _KEEPALIVE:
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def tuned_connection_class() -> type:
    """PyMySQL's Connection with its greeting bounded by connect_timeout and tune_socket()
    applied on every connect: the engine, and the binlog stream library (which opens and
    silently reopens its connections), connect through it."""
    import pymysql

    class TunedConnection(pymysql.connections.Connection):  # type: ignore[misc]
        def connect(self, sock: Any = None) -> None:
            # PyMySQL bounds the TCP connect by connect_timeout but reads the server's
            # greeting with read_timeout, by default none: a server that accepts and never
            # answers would hang the connect for ever
            wanted: float | None = getattr(self, "_read_timeout", None)
            self._read_timeout = wanted or self.connect_timeout
            try:
                super().connect(sock)
            finally:
                self._read_timeout = wanted
            if self._sock is not None:
                self._sock.settimeout(wanted)
                self._current_timeout = wanted
            tune_socket(self)

    return TunedConnection


def code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def reason(exc: BaseException) -> str:
    """The driver's message on one line, without the error number tuple."""
    args = getattr(exc, "args", ())
    text = str(args[-1] if args else exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def is_unreachable(exc: BaseException) -> bool:
    return code(exc) in UNREACHABLE


def unreachable(endpoint: object, exc: BaseException) -> Unreachable:
    return Unreachable(f"cannot connect to {endpoint}: {reason(exc)}")


def classify(exc: BaseException) -> TurnoutError | None:
    """PyMySQL's or mysqlclient's error as turnout's; None when it is neither's."""
    if not _is_driver_error(exc):
        return None
    number = code(exc)
    label = f"MySQL error {number}" if number else "MySQL"
    if _transient(exc, number):
        return TransientError(f"{label}: {reason(exc)}")
    return OperationFailed(f"{label}: {reason(exc)}; fix this on the server and start the "
                           "task again")


def _is_driver_error(exc: BaseException) -> bool:
    for name in ("pymysql", "MySQLdb"):
        driver = sys.modules.get(name)
        if driver is not None and isinstance(exc, driver.Error):
            return True
    return False


def _transient(exc: BaseException, number: int | None) -> bool:
    if number in TRANSIENT:
        return True
    # a closed connection used again (PyMySQL's InterfaceError(0, '')), or a packet out of
    # order after a read timed out: the connection is what failed
    kind = type(exc).__name__
    return kind == "InterfaceError" or (kind == "InternalError" and "sequence" in str(exc))
