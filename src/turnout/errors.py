"""One root error, with the exit code and the transient marker carried by the class.

Every message is one line that says what is wrong and what to do next; the
CLI prints it as-is and shows a traceback only with --debug.
"""

from __future__ import annotations


class TurnoutError(Exception):
    """Root of every error turnout raises on purpose."""

    exit_code = 1
    transient = False


class BadInput(TurnoutError):
    """The user asked for something that cannot work: bad URL, bad spec, bad name."""

    exit_code = 2


class NotFound(BadInput):
    """A task, file or table the user named does not exist."""


class Unsupported(BadInput):
    """A type, table shape or feature turnout refuses rather than migrating wrongly."""


class OperationFailed(TurnoutError):
    """A step failed for a reason that retrying will not fix."""


class Fenced(OperationFailed):
    """This worker's lease on the task was taken by another (a newer epoch): the destination
    refused its batch, and it must stop working on the task without writing anything more."""


class TransientError(TurnoutError):
    """A step failed for a reason that may pass: a lock, a lost connection."""

    transient = True


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` carries the transient marker: a running task retries it (retry.py).
    An error that is not turnout's has not been classified by its engine, so it does not."""
    return isinstance(exc, TurnoutError) and exc.transient


class Unreachable(BadInput, TransientError):
    """A server that cannot be reached now (refused, timed out, restarting).

    A bad URL to the user who types it (exit code 2), yet a fault that may
    pass for a worker that reached the server before: the runner retries it.
    """
