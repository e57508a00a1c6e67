"""MySQL's driver errors (PyMySQL, mysqlclient's MySQLdb, and PyMySQL under the binlog
stream) as turnout's: which faults may pass, so a running task retries them, and which
will not. Both drivers carry the server's or client library's error number first.
"""

from __future__ import annotations

import sys

from turnout.errors import OperationFailed, TransientError, TurnoutError, Unreachable

# the server cannot be reached now: cannot connect (socket, TCP), too many connections,
# server shutting down, resolver failure
UNREACHABLE = (1040, 1053, 2002, 2003, 2005)
# worth a retry once connected: lost connection (gone away, lost during query, lost at
# handshake, lost at reading), connection killed, disconnected for inactivity, lock wait
# timeout, deadlock, query interrupted by a shutdown, out of memory for the moment
TRANSIENT = (*UNREACHABLE, 2006, 2013, 2055, 1927, 4031, 1205, 1213, 1317, 1037, 1158, 1159,
             1160, 1161)


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
