"""The one-time sealing of a store written by an older turnout, which kept passwords in clear.

Every stored URL gets its password sealed (vault.py), events, errors and
checkpoint values are scrubbed of the passwords found, and then no copy may
stay behind: VACUUM rewrites the file without free pages (where deleted rows
linger) and a TRUNCATE checkpoint empties the WAL (where old page versions
do). The store calls this until it reports success.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from turnout import vault

Sealer = Callable[[dict[str, Any]], dict[str, Any]]


def seal_old_store(db: sqlite3.Connection, seal: Sealer) -> bool:
    """Seal and scrub in one transaction, then compact; False while another connection
    holds the WAL (the next opening of the store tries again; sealing twice is harmless)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        _scrub_texts(db, _seal_specs(db, seal))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    try:
        db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return not busy


def _seal_specs(db: sqlite3.Connection, seal: Sealer) -> list[str]:
    """Rewrite every stored URL with its password sealed; the passwords found in clear."""
    found: list[str] = []
    for name, text in db.execute("SELECT name, spec FROM tasks").fetchall():
        data = json.loads(text)
        sealed = seal(data)
        if sealed != data:
            found += [p for k in ("source", "dest") for p in vault.passwords(data[k])]
            db.execute("UPDATE tasks SET spec = ? WHERE name = ?", (json.dumps(sealed), name))
    return found


def _scrub_texts(db: sqlite3.Connection, secrets: list[str]) -> None:
    for id_, message in db.execute("SELECT id, message FROM events").fetchall():
        if (clean := vault.scrub(message, secrets)) != message:
            db.execute("UPDATE events SET message = ? WHERE id = ?", (clean, id_))
    for name, error in db.execute(
            "SELECT name, error FROM tasks WHERE error IS NOT NULL").fetchall():
        if (clean := vault.scrub(error, secrets)) != error:
            db.execute("UPDATE tasks SET error = ? WHERE name = ?", (clean, name))
    for task, key, value in db.execute("SELECT task, key, value FROM checkpoints").fetchall():
        if (clean := vault.scrub(value)) != value:
            db.execute("UPDATE checkpoints SET value = ? WHERE task = ? AND key = ?",
                       (clean, task, key))
