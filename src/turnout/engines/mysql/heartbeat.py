"""Turnout's heartbeat on a MySQL source: one row per task in HEARTBEAT_TABLE, set to
turnout's clock every second (migrate/heartbeat.py says why); the binlog carries the
value back to the capture, which tells how current the destination is by it.

The table is created by the first heartbeat and dropped with the last task's row. A
switchover's marker is a row of the same table (mark()).
"""

from __future__ import annotations

import time
from typing import Any

from turnout.engines.mysql.link import MysqlLink

HEARTBEAT_TABLE = "_turnout_heartbeat"
MARKER = "/marker"  # the task's marker row is keyed by its slot and this


def write(conn: Any, slot: str, first: bool) -> None:
    """Set the task's row to now (creating the table with the first heartbeat)."""
    with conn.cursor() as cur:
        if first:
            cur.execute(f"CREATE TABLE IF NOT EXISTS `{HEARTBEAT_TABLE}` (slot varchar(190) "
                        "NOT NULL PRIMARY KEY, ts double NOT NULL) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{HEARTBEAT_TABLE}` VALUES (%s, %s) "
                    "ON DUPLICATE KEY UPDATE ts = VALUES(ts)", (slot, time.time()))


def mark(engine: MysqlLink, slot: str) -> bool:
    """A row of its own for a switchover's marker (capture.marker() says why); False where no
    heartbeat table is (the source refuses heartbeats): then nothing is written."""
    if not engine.all("SHOW TABLES LIKE %s", (HEARTBEAT_TABLE,)):
        return False
    engine.execute(f"INSERT INTO `{HEARTBEAT_TABLE}` VALUES (%s, %s) "
                   "ON DUPLICATE KEY UPDATE ts = VALUES(ts)", (slot + MARKER, time.time()))
    return True


def marked(event: Any, slot: str) -> bool:
    """Whether a rows event of HEARTBEAT_TABLE carries the task's marker row."""
    return any((row.get("after_values") or row.get("values") or {}).get("slot") == slot + MARKER
               for row in event.rows)


def read(event: Any, slot: str) -> float | None:
    """The task's heartbeat in a rows event of HEARTBEAT_TABLE, if it carries one."""
    beat = None
    for row in event.rows:
        values = row.get("after_values") or row.get("values") or {}
        if values.get("slot") == slot and values.get("ts") is not None:
            beat = float(values["ts"])
    return beat


def drop(engine: MysqlLink, slot: str) -> None:
    """Take the task's row away, and the table with the last one."""
    if not engine.all("SHOW TABLES LIKE %s", (HEARTBEAT_TABLE,)):
        return
    engine.execute(f"DELETE FROM `{HEARTBEAT_TABLE}` WHERE slot IN (%s, %s)",
                   (slot, slot + MARKER))
    if not engine.all(f"SELECT 1 FROM `{HEARTBEAT_TABLE}` LIMIT 1"):
        engine.execute(f"DROP TABLE IF EXISTS `{HEARTBEAT_TABLE}`")
