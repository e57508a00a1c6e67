"""Which faults a running task retries, how long it waits, and how engines classify their
drivers' errors."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg2
import pymysql
import pytest

from turnout import engines
from turnout.errors import (
    BadInput,
    OperationFailed,
    TransientError,
    TurnoutError,
    Unreachable,
    is_transient,
)
from turnout.migrate import retry

POLICY = retry.Policy()


def test_waits_grow_to_a_cap() -> None:
    assert [POLICY.wait_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert POLICY.wait_s(50) == retry.MAX_WAIT_S
    assert POLICY.wait_s(10_000) == retry.MAX_WAIT_S  # no overflow however long it lasts
    assert retry.Policy(first_wait_s=0.5, max_wait_s=3.0).wait_s(3) == 2.0
    assert retry.Policy(max_wait_s=3.0).wait_s(3) == 3.0


def test_only_faults_with_the_transient_marker_are_retried() -> None:
    assert retry.retryable(TransientError("deadlock"), ever_prechecked=False)
    assert not retry.retryable(OperationFailed("slot lost"), ever_prechecked=True)
    assert not retry.retryable(BadInput("bad password"), ever_prechecked=True)
    # a server never reached is a wrong URL more often than an outage
    assert not retry.retryable(Unreachable("refused"), ever_prechecked=False)
    assert retry.retryable(Unreachable("refused"), ever_prechecked=True)
    assert Unreachable("x").exit_code == 2  # still a bad URL to the one who typed it


def test_the_marker_is_what_counts_not_the_class() -> None:
    class Flaky(OperationFailed):
        transient = True

    assert is_transient(Flaky("x")) and retry.retryable(Flaky("x"), ever_prechecked=True)
    assert not is_transient(ConnectionResetError())  # not classified by an engine yet
    assert not is_transient(TurnoutError("x"))


def test_attempts_count_up_while_nothing_moves_and_start_over_after_progress() -> None:
    fault = TransientError("lost connection")
    attempts, waits, attempt = [], [], 0
    for progressed in (False, False, False, True, False):
        again = POLICY.decide(fault, attempt, progressed, ever_prechecked=True)
        assert again is not None
        attempt = again.attempt
        attempts.append(again.attempt)
        waits.append(again.wait_s)
    assert attempts == [1, 2, 3, 1, 2]
    assert waits == [1.0, 2.0, 4.0, 1.0, 2.0]
    assert again.detail == "reconnecting (attempt 2, last error: lost connection)"


def test_a_fault_without_the_marker_ends_the_task_whatever_the_attempt() -> None:
    for attempt in (0, 1, 7):
        assert POLICY.decide(OperationFailed("no such table"), attempt, progressed=False,
                             ever_prechecked=True) is None
    assert POLICY.decide(Unreachable("refused"), 0, progressed=False,
                         ever_prechecked=False) is None
    assert POLICY.decide(Unreachable("refused"), 0, progressed=False,
                         ever_prechecked=True) == retry.Retry(
        1, 1.0, "reconnecting (attempt 1, last error: refused)")


def test_detail_is_one_line() -> None:
    text = retry.detail(3, TransientError("lost\n  connection"))
    assert text == "reconnecting (attempt 3, last error: lost connection)"
    assert len(retry.detail(1, TransientError("x" * 1000))) < 400


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
    assert found is not None
    # what the engine marks transient is what the policy retries, once the task ran before
    assert (POLICY.decide(found, 0, progressed=False, ever_prechecked=True) is not None) is (
        kind is TransientError)


def test_other_errors_are_left_to_the_runner() -> None:
    assert engines.classify(AssertionError("a bug")) is None
