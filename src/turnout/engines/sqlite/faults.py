"""sqlite3's errors as turnout's: a locked or busy file may pass (another writer holds it),
so a running task retries; anything else will not."""

from __future__ import annotations

import sqlite3

from turnout.errors import OperationFailed, TransientError, TurnoutError

_BUSY = ("database is locked", "database is busy", "database table is locked")


def classify(exc: BaseException) -> TurnoutError | None:
    if not isinstance(exc, sqlite3.Error):
        return None
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    if any(words in text for words in _BUSY):
        return TransientError(f"SQLite: {text}")
    return OperationFailed(f"SQLite: {text}; fix the file and start the task again")
