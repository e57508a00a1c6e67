"""When a running task retries a fault, and how long it waits first: one policy.

A fault is retried when it carries the transient marker (errors.is_transient): the
engines' faults.py modules give their drivers' errors that marker for what may pass,
a lost connection, a server that restarts, a deadlock, and leave it off the rest
(a wrong password, a missing table). Every step resumes from its checkpoint, so a
retry is a fresh run of the task that skips what is done. Waits grow exponentially
up to a cap, and start small again once a run has made progress: a connection that
came back and was lost again is a new outage, not the next attempt at the old one.

One exception: a server that cannot be reached before the task ever passed its
precheck is a wrong URL far more often than an outage, so it fails at once.

The decision (Policy.decide) is pure: the runner tells it the fault and what it
knows, and does what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

from turnout.errors import TurnoutError, Unreachable, is_transient

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 15.0


@dataclass(frozen=True)
class Retry:
    """What the runner does after a fault it retries: say `detail`, wait `wait_s` seconds,
    then run the task again as attempt number `attempt`."""

    attempt: int
    wait_s: float
    detail: str


@dataclass(frozen=True)
class Policy:
    """Which faults are retried, and the waits between attempts (1, 2, 4, ... s up to a cap)."""

    first_wait_s: float = FIRST_WAIT_S
    max_wait_s: float = MAX_WAIT_S

    def decide(self, fault: TurnoutError, attempt: int, progressed: bool,
               ever_prechecked: bool) -> Retry | None:
        """The retry after `fault` ended attempt number `attempt` (0: the first run), or None
        when the task fails instead. `progressed`: the run moved on since the last fault."""
        if not retryable(fault, ever_prechecked):
            return None
        attempt = 1 if progressed else attempt + 1
        return Retry(attempt, self.wait_s(attempt), detail(attempt, fault))

    def wait_s(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1, 2, ...)."""
        return float(min(self.max_wait_s, self.first_wait_s * 2 ** min(attempt - 1, 16)))


def retryable(fault: TurnoutError, ever_prechecked: bool) -> bool:
    """Whether the fault is worth another run: it carries the transient marker, and is not
    a server never reached (see the module's docstring)."""
    if not is_transient(fault):
        return False
    return ever_prechecked or not isinstance(fault, Unreachable)


def detail(attempt: int, fault: TurnoutError) -> str:
    """The event and status line while the worker waits to retry."""
    return f"reconnecting (attempt {attempt}, last error: {_one_line(str(fault))})"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
