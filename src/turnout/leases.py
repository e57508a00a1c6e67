"""Leases: which agent runs a task, under which epoch, until when; and the agents themselves.

An agent (tasks/agent.py) takes a task that should run (`task start` set its wish) when nobody
holds it or its holder's lease expired, raising the task's epoch by one; it renews the
lease every RENEW_S seconds for LEASE_S seconds and hands it back when its worker ends or
it stops. The epoch travels with every checkpoint the worker writes into the destination
(model.Checkpoint), so a worker whose lease was taken over commits nothing more.

Times are the store database's clock (storedb.Dialect.now), so machines whose clocks
differ still agree on when a lease expires. Each function is one short transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from turnout.model import TaskState
from turnout.store import Store

LEASE_S = float(os.environ.get("TURNOUT_LEASE_S") or 10.0)  # a lease lasts this long
RENEW_S = float(os.environ.get("TURNOUT_LEASE_RENEW_S") or 3.0)  # and is renewed this often
ENDED = (TaskState.COMPLETED.value, TaskState.FAILED.value)  # no agent takes these again


@dataclass(frozen=True)
class AgentInfo:
    """One agent as `turnout agent list` shows it."""

    name: str
    host: str
    pid: int
    max_tasks: int
    alive: bool
    seen_s_ago: float
    tasks: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "host": self.host, "pid": self.pid,
                "max_tasks": self.max_tasks, "alive": self.alive,
                "seen_s_ago": round(self.seen_s_ago, 1), "tasks": list(self.tasks)}


def _now(store: Store) -> float:
    return float(store._db().execute(f"SELECT {store.dialect.now}").fetchone()[0])


def take(store: Store, task: str, agent: str) -> int | None:
    """Take the task's lease for `agent` if it should run and nobody holds it; the new epoch,
    or None when it is not to be had."""
    now = store.dialect.now
    with store._tx() as db:
        row = db.execute(
            f"SELECT wanted, agent, lease_expires, epoch, state, {now} AS now FROM tasks "
            "WHERE name = ?" + store.dialect.lock, (task,)).fetchone()
        if row is None or not row["wanted"] or row["state"] in ENDED:
            return None
        if row["agent"] and (row["lease_expires"] or 0) > row["now"]:
            return None
        epoch = int(row["epoch"]) + 1
        db.execute(f"UPDATE tasks SET agent = ?, epoch = ?, lease_expires = {now} + ?, "
                   "state = ? WHERE name = ?",  # its worker starts now: it is not Stopped
                   (agent, epoch, LEASE_S, TaskState.PRECHECKING.value, task))
    return epoch


def renew(store: Store, task: str, agent: str, epoch: int) -> bool:
    """Extend the lease; False when it is no longer this agent's (taken over after it
    expired, or the task was deleted): its worker must stop at once."""
    with store._tx() as db:
        cursor = db.execute(f"UPDATE tasks SET lease_expires = {store.dialect.now} + ? "
                            "WHERE name = ? AND agent = ? AND epoch = ?",
                            (LEASE_S, task, agent, epoch))
        return bool(cursor.rowcount == 1)


def release(store: Store, task: str, agent: str, epoch: int) -> None:
    """Hand the task back (another agent may take it at once); a task that completed or
    failed is no longer wished to run, so no agent starts it again."""
    with store._tx() as db:
        db.execute("UPDATE tasks SET agent = NULL, lease_expires = NULL, pid = NULL, "
                   "wanted = CASE WHEN state IN (?, ?) THEN 0 ELSE wanted END "
                   "WHERE name = ? AND agent = ? AND epoch = ?", (*ENDED, task, agent, epoch))


def holds(store: Store, task: str, epoch: int) -> bool:
    """Whether the task's lease still has this epoch (nobody took it over)."""
    row = store._db().execute("SELECT epoch FROM tasks WHERE name = ?", (task,)).fetchone()
    return row is not None and int(row[0]) == epoch


def claimable(store: Store) -> list[str]:
    """Tasks that should run and that nobody holds, oldest first."""
    rows = store._db().execute(
        f"SELECT name FROM tasks WHERE wanted = 1 AND state NOT IN (?, ?) AND (agent IS NULL "
        f"OR lease_expires < {store.dialect.now}) ORDER BY created", ENDED).fetchall()
    return [r[0] for r in rows]


def beat(store: Store, name: str, host: str, pid: int, max_tasks: int, started: float) -> None:
    """The agent is alive: `turnout agent list` and the least-loaded rule count it."""
    now = store.dialect.now
    with store._tx() as db:
        db.execute(f"INSERT INTO agents VALUES (?, ?, ?, ?, ?, {now}) ON CONFLICT (name) DO "
                   f"UPDATE SET host = excluded.host, pid = excluded.pid, max_tasks = "
                   f"excluded.max_tasks, started = excluded.started, seen = {now}",
                   (name, host, pid, max_tasks, started))


def forget(store: Store, name: str) -> None:
    """The agent stopped: it is no longer counted as alive."""
    with store._tx() as db:
        db.execute("DELETE FROM agents WHERE name = ?", (name,))


def agents(store: Store) -> list[AgentInfo]:
    """Every agent the store knows, alive (seen within a lease) or not, with its tasks."""
    now = _now(store)
    held: dict[str, list[str]] = {}
    for task, agent in store._db().execute(
            "SELECT name, agent FROM tasks WHERE agent IS NOT NULL AND lease_expires > ? "
            "ORDER BY name", (now,)).fetchall():
        held.setdefault(agent, []).append(task)
    rows = store._db().execute("SELECT name, host, pid, max_tasks, seen FROM agents "
                               "ORDER BY name").fetchall()
    return [AgentInfo(r[0], r[1], r[2], r[3], now - r[4] < LEASE_S, now - r[4],
                      tuple(held.get(r[0], ()))) for r in rows]


def alive(store: Store) -> list[AgentInfo]:
    return [a for a in agents(store) if a.alive]
