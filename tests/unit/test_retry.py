"""Which faults a running task retries, how long it waits, and how engines classify their
drivers' errors."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg2
import pymysql
import pytest

from turnout import engines
from turnout.errors import BadInput, OperationFailed, TransientError, Unreachable
from turnout.migrate import retry


def test_waits_grow_to_a_cap() -> None:
    assert [retry.wait_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry.wait_s(50) == retry.MAX_WAIT_S
    assert retry.wait_s(3, cap=3.0) == 3.0


def test_only_transient_faults_are_retried() -> None:
    assert retry.retryable(TransientError("deadlock"), ever_prechecked=False)
    assert not retry.retryable(OperationFailed("slot lost"), ever_prechecked=True)
    assert not retry.retryable(BadInput("bad password"), ever_prechecked=True)
    # a server never reached is a wrong URL more often than an outage
    assert not retry.retryable(Unreachable("refused"), ever_prechecked=False)
    assert retry.retryable(Unreachable("refused"), ever_prechecked=True)
    assert Unreachable("x").exit_code == 2  # still a bad URL to the one who typed it


def test_detail_is_one_line() -> None:
    text = retry.detail(3, TransientError("lost\n  connection"))
    assert text == "reconnecting (attempt 3, last error: lost connection)"


@pytest.mark.parametrize(("exc", "kind"), [
    (psycopg.OperationalError("consuming input failed: server closed the connection "
                              "unexpectedly\n\tThis probably means ..."), TransientError),
    (psycopg.errors.DeadlockDetected("deadlock detected"), TransientError),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
     TransientError),
    (psycopg.errors.UndefinedTable('relation "x" does not exist'), OperationFailed),
    (psycopg2.OperationalError("SSL SYSCALL error: EOF detected"), TransientError),
    (pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"),
     TransientError),
    (pymysql.err.OperationalError(1213, "Deadlock found"), TransientError),
    (pymysql.err.InterfaceError(0, ""), TransientError),
    (pymysql.err.OperationalError(1045, "Access denied for user"), OperationFailed),
    (sqlite3.OperationalError("database is locked"), TransientError),
    (sqlite3.OperationalError("no such table: x"), OperationFailed),
    (ConnectionResetError(104, "Connection reset by peer"), TransientError),
])
def test_engines_classify_their_drivers_errors(exc: BaseException, kind: type) -> None:
    for scheme in ("postgresql", "mysql", "sqlite"):
        engines.engine_class(scheme)  # load every engine, as a worker of any pair would
    found = engines.classify(exc)
    assert type(found) is kind
    assert "\n" not in str(found)


def test_other_errors_are_left_to_the_runner() -> None:
    assert engines.classify(AssertionError("a bug")) is None
