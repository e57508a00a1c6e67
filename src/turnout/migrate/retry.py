"""When a running task retries a fault, and how long it waits first.

A fault is retried when its error carries the transient marker (engines turn
their drivers' errors into turnout's, errors.py): a lost connection, a server
that restarts, a deadlock. Every step resumes from its checkpoint, so a retry
is a fresh run of the task that skips what is done. Waits grow exponentially up
to a cap and start small again once a run has made progress.

One exception: a server that cannot be reached before the task ever passed its
precheck is a wrong URL far more often than an outage, so it fails at once.
"""

from __future__ import annotations

from turnout.errors import TurnoutError, Unreachable

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 15.0


def retryable(fault: TurnoutError, ever_prechecked: bool) -> bool:
    """Whether the runner waits and runs the task again instead of failing it."""
    if not fault.transient:
        return False
    return ever_prechecked or not isinstance(fault, Unreachable)


def wait_s(attempt: int, cap: float = MAX_WAIT_S) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): 1, 2, 4, 8, ... up to `cap`."""
    return float(min(cap, FIRST_WAIT_S * 2 ** min(attempt - 1, 16)))


def detail(attempt: int, fault: TurnoutError) -> str:
    """The event and status line while the worker waits to retry."""
    return f"reconnecting (attempt {attempt}, last error: {_one_line(str(fault))})"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
