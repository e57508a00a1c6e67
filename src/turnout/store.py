"""The task store: definitions, state, per-table progress, checkpoints, events.

One SQLite file under $TURNOUT_HOME (default ~/.turnout), or a PostgreSQL
database that agents on several machines share (TURNOUT_STORE, storedb.py).
WAL mode and a busy timeout make the file safe for the CLI and a running
worker at once; every write is one short transaction.

The folder is its owner's only (0700) and so are its files (0600). No
password is written in clear: URLs keep theirs sealed (vault.py), and free
text (events, errors) is scrubbed of URL passwords and of the task's own
passwords before it is saved. A store written by an older turnout is sealed
and scrubbed once on opening (sealing.py), so the old clear text is left
neither in its rows, nor in free pages, nor in the WAL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turnout import sealing, storedb, vault
from turnout.errors import BadInput, NotFound
from turnout.model import Phase, TaskState
from turnout.naming import slot_name
from turnout.processes import process_alive, process_started
from turnout.spec import TaskSpec
from turnout.status import TableProgress
from turnout.storedb import SCHEMA_VERSION as SCHEMA_VERSION
from turnout.storedb import Conn, Row


def turnout_home() -> Path:
    return Path(os.environ.get("TURNOUT_HOME") or Path.home() / ".turnout")


@dataclass
class TaskRecord:
    spec: TaskSpec
    state: TaskState
    phase: Phase | None
    pid: int | None
    pid_started: int | None
    error: str | None
    delay_s: float | None
    position: str | None
    changes_applied: int
    stop_requested: bool
    created: float
    updated: float
    heartbeat: float | None
    agent: str | None = None  # the agent whose worker runs the task (leases.py)
    epoch: int = 0  # raised by each agent that takes the task: an older one is fenced off
    lease_expires: float | None = None
    wanted: bool = False  # `task start` asked for it to run: an agent claims it
    store_now: float | None = None  # the store database's clock when the row was read
    capture: str | None = None  # its capture objects' name on the source, see capture_name

    @property
    def capture_name(self) -> str:
        """The name of the task's slot, publication or triggers on its source: unique to
        this task of this store (a task made before that was recorded keeps its old one)."""
        return self.capture or slot_name(self.name)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def alive(self) -> bool:
        """Whether the task's worker still runs: an agent's while its lease holds (it may
        run on another machine), else the recorded process on this one."""
        if self.agent:  # on the clock leases are timed by (leases.py): the store's
            now = self.store_now if self.store_now is not None else time.time()
            return (self.lease_expires or 0) > now
        return bool(self.pid) and process_alive(self.pid, self.pid_started)  # type: ignore[arg-type]


@dataclass
class Event:
    id: int
    ts: float
    level: str
    message: str


class Store:
    """Thread-safe access to the store; each thread gets its own connection.

    `url` (default: $TURNOUT_STORE, else `store` in `home`'s config.toml) names a
    PostgreSQL store; without one the store is the SQLite file under `home`. `home` keeps
    the logs and, unless
    $TURNOUT_SECRET_KEY_FILE says otherwise, the key that seals passwords (vault.py).
    """

    def __init__(self, home: Path | None = None, url: str | None = None) -> None:
        self.home = Path(home) if home else turnout_home()
        vault.private_folder(self.home)
        self.url = storedb.store_url(url, self.home)
        self.dialect = storedb.POSTGRES if self.url else storedb.SQLITE
        self.path = self.home / "turnout.db"
        fresh = not self.path.exists()
        if not self.url:
            for path in (self.path, self.home / "turnout.db-wal", self.home / "turnout.db-shm"):
                if path == self.path or path.exists():  # SQLite gives new ones the store's mode
                    vault.private_file(path)
        self.vault = vault.Vault(self.home)
        self._secrets: dict[str, list[str]] = {}  # task -> its passwords, to scrub from text
        self._local = threading.local()
        was = storedb.migrate(self._db(), self.dialect)
        fresh = was == 0 if self.url else fresh
        self._seal_once(fresh)

    def reopen(self) -> Store:
        """The same store for another thread or a copy kept apart (its own connections)."""
        return Store(self.home, self.url)

    def describe(self) -> str:
        """Where the store is, fit to print (a URL's password hidden)."""
        return storedb.redact(self.url) if self.url else str(self.path)

    def schema_version(self) -> int:
        row = self._db().execute("SELECT value FROM meta WHERE key = 'schema_version'"
                                 ).fetchone()
        return int(row[0])

    def _db(self) -> Conn:
        db = getattr(self._local, "db", None)
        if db is None:
            if self.url:
                db = storedb.connect_postgres(self.url)
            else:
                db = storedb.connect_sqlite(self.path)
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        with storedb.transaction(self._db(), self.dialect) as db:
            yield db

    def _seal_once(self, fresh: bool) -> None:
        """Seal a store an older turnout wrote with passwords in clear (sealing.py); every
        opening tries until that has fully succeeded. A PostgreSQL store never held any."""
        db = self._db()
        if self.url:
            fresh = True
        if db.execute("SELECT 1 FROM meta WHERE key = 'passwords_sealed'").fetchone():
            return
        if fresh or sealing.seal_old_store(db, self._sealed):  # type: ignore[arg-type]
            with self._tx() as tx:
                tx.execute("INSERT INTO meta VALUES ('passwords_sealed', '1') "
                           "ON CONFLICT (key) DO NOTHING")

    def _unsealed(self, url: str) -> str:
        """The URL with its password; still sealed when the key is gone, so that the task can
        be shown and deleted (connecting to it says what happened)."""
        try:
            return self.vault.unseal(url)
        except BadInput:
            return url

    def _sealed(self, data: dict[str, Any]) -> dict[str, Any]:
        sealed = {**data, "source": self.vault.seal(data["source"]),
                  "dest": self.vault.seal(data["dest"])}
        hook = (data.get("alerts") or {}).get("webhook")
        if hook:  # sealed whole: a webhook's token is often its path or query
            sealed["alerts"] = {**data["alerts"], "webhook": self.vault.seal_text(hook)}
        return sealed

    def _scrubbed(self, name: str, text: str) -> str:
        """`text` fit to store: no URL password, none of the task's own passwords."""
        if name not in self._secrets:
            try:
                self.get(name)  # learns the task's passwords
            except NotFound:
                pass
        return vault.scrub(text, self._secrets.get(name, []))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # tasks ---------------------------------------------------------------

    def create_task(self, spec: TaskSpec) -> None:
        now = time.time()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM tasks WHERE name = ?", (spec.name,)).fetchone():
                raise BadInput(
                    f"task {spec.name!r} already exists: pick another name "
                    f"or `turnout task delete {spec.name}` first"
                )
            db.execute(
                "INSERT INTO tasks (name, spec, state, created, updated, capture) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (spec.name, json.dumps(self._sealed(spec.to_dict())), TaskState.NOT_STARTED,
                 now, now, slot_name(spec.name, salt=os.urandom(4).hex())),
            )
        self.add_event(spec.name, "info", "task created")

    def get(self, name: str) -> TaskRecord:
        row = self._db().execute(f"SELECT *, {self.dialect.now} AS store_now FROM tasks "
                                 "WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no task named {name!r}: `turnout task list` shows the tasks")
        return self._record(row)

    def all_tasks(self) -> list[TaskRecord]:
        rows = self._db().execute(f"SELECT *, {self.dialect.now} AS store_now FROM tasks "
                                  "ORDER BY created").fetchall()
        return [self._record(r) for r in rows]

    def _record(self, row: Row) -> TaskRecord:
        """The row as a record, its URLs unsealed (and their passwords noted for scrubbing)."""
        data = json.loads(row["spec"])
        data["source"], data["dest"] = self._unsealed(data["source"]), self._unsealed(data["dest"])
        hook = (data.get("alerts") or {}).get("webhook")
        if hook:
            try:
                data["alerts"]["webhook"] = self.vault.unseal_text(hook)
            except BadInput:  # the key is gone: no alerts, but the task can be shown
                data["alerts"]["webhook"] = None
        self._secrets[row["name"]] = vault.passwords(data["source"]) + vault.passwords(
            data["dest"])
        return _record(row, TaskSpec.from_dict(data))

    def delete_task(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM tasks WHERE name = ?", (name,))

    def set_spec(self, name: str, spec: TaskSpec) -> None:
        """Save a changed definition (`turnout task set`); its URLs sealed as on creation."""
        with self._tx() as db:
            db.execute("UPDATE tasks SET spec = ?, updated = ? WHERE name = ?",
                       (json.dumps(self._sealed(spec.to_dict())), time.time(), name))

    def update(self, name: str, **fields: Any) -> None:
        """Set some of the task's columns; names outside the known set are a programming error."""
        allowed = {"state", "phase", "pid", "pid_started", "error", "delay_s", "position",
                   "changes_applied", "stop_requested", "heartbeat", "wanted"}
        assert set(fields) <= allowed, set(fields) - allowed
        if fields.get("error"):
            fields["error"] = self._scrubbed(name, fields["error"])
        fields["updated"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE tasks SET {sets} WHERE name = ?", (*fields.values(), name))

    def claim(self, name: str, pid: int, epoch: int | None = None) -> bool:
        """Record `pid` as the task's worker unless another live worker holds it; a worker
        an agent started (`epoch`) holds it while the agent's lease has that epoch."""
        with self._tx() as db:
            row = db.execute(
                "SELECT pid, pid_started, agent, epoch FROM tasks WHERE name = ?"
                + self.dialect.lock, (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no task named {name!r}: `turnout task list` shows the tasks")
            if epoch is not None:
                if row["epoch"] != epoch:
                    return False
            else:
                holder = row["pid"]
                if holder and holder != pid and process_alive(holder, row["pid_started"]):
                    return False
            db.execute(  # a fresh worker: an old failure or stop no longer describes the task
                "UPDATE tasks SET pid = ?, pid_started = ?, stop_requested = 0, error = NULL, "
                "delay_s = NULL, state = ?, updated = ? WHERE name = ?",
                (pid, process_started(pid), TaskState.PRECHECKING.value, time.time(), name),
            )
            if epoch is None:  # a worker started by hand: no agent's lease describes it
                db.execute("UPDATE tasks SET agent = NULL, lease_expires = NULL, wanted = 0 "
                           "WHERE name = ?", (name,))
        return True

    # progress ------------------------------------------------------------

    def set_tables(self, name: str, pairs: list[tuple[str, str, int]]) -> None:
        """Register the task's tables (source, dest, rows_total), keeping rows already counted."""
        with self._tx() as db:
            for source, dest, total in pairs:
                db.execute(
                    "INSERT INTO table_progress (task, source, dest, rows_total) VALUES (?,?,?,?) "
                    "ON CONFLICT (task, source) DO UPDATE SET dest = excluded.dest, "
                    "rows_total = CASE WHEN excluded.rows_total > 0 THEN excluded.rows_total "
                    "ELSE table_progress.rows_total END",  # 0 means "not counted this run"
                    (name, source, dest, total),
                )

    def rename_table(self, name: str, old: str, new: str, dest: str) -> None:
        """A source table renamed (a RENAME TABLE the task followed): its progress goes on
        under its new names."""
        with self._tx() as db:
            db.execute("DELETE FROM table_progress WHERE task = ? AND source = ? AND source <> ?",
                       (name, new, old))
            db.execute("UPDATE table_progress SET source = ?, dest = ? WHERE task = ? AND "
                       "source = ?", (new, dest, name, old))

    def set_table_progress(self, name: str, source: str, rows_copied: int, done: bool) -> None:
        self.set_tables_progress(name, [(source, rows_copied, done)])

    def set_tables_progress(self, name: str, rows: list[tuple[str, int, bool]]) -> None:
        """Rows copied so far and whether done, for several tables in one transaction."""
        with self._tx() as db:
            for source, rows_copied, done in rows:
                db.execute(
                    "UPDATE table_progress SET rows_copied = ?, done = ?, "
                    "rows_total = CASE WHEN rows_total < ? THEN ? ELSE rows_total END "
                    "WHERE task = ? AND source = ?",
                    (rows_copied, int(done), rows_copied, rows_copied, name, source),
                )

    def tables(self, name: str) -> list[TableProgress]:
        rows = self._db().execute(
            "SELECT source, dest, rows_copied, rows_total, done FROM table_progress "
            f"WHERE task = ? ORDER BY {self.dialect.added_order}",
            (name,),
        ).fetchall()
        return [TableProgress(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # checkpoints ---------------------------------------------------------

    def checkpoint(self, name: str, key: str) -> str | None:
        row = self._db().execute(
            "SELECT value FROM checkpoints WHERE task = ? AND key = ?", (name, key)
        ).fetchone()
        return row[0] if row else None

    def clear_checkpoints(self, name: str, keys: list[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM checkpoints WHERE task = ? AND key = ?",
                           [(name, k) for k in keys])

    def set_checkpoint(self, name: str, key: str, value: str) -> None:
        value = vault.scrub(value)  # a retry's detail quotes a driver's error
        with self._tx() as db:
            db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?) "
                "ON CONFLICT (task, key) DO UPDATE SET value = excluded.value",
                (name, key, value),
            )

    # events --------------------------------------------------------------

    def add_event(self, name: str, level: str, message: str) -> None:
        message = self._scrubbed(name, message)
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (task, ts, level, message) VALUES (?, ?, ?, ?)",
                (name, time.time(), level, message),
            )

    def events(self, name: str, after_id: int = 0, limit: int = 200) -> list[Event]:
        rows = self._db().execute(
            "SELECT id, ts, level, message FROM events WHERE task = ? AND id > ? "
            "ORDER BY id DESC LIMIT ?",
            (name, after_id, limit),
        ).fetchall()
        return [Event(*r) for r in reversed(rows)]


def _record(row: Row, spec: TaskSpec) -> TaskRecord:
    return TaskRecord(
        spec=spec,
        state=TaskState(row["state"]),
        phase=Phase(row["phase"]) if row["phase"] else None,
        pid=row["pid"],
        pid_started=row["pid_started"],
        error=row["error"],
        delay_s=row["delay_s"],
        position=row["position"],
        changes_applied=row["changes_applied"],
        stop_requested=bool(row["stop_requested"]),
        created=row["created"],
        updated=row["updated"],
        heartbeat=row["heartbeat"],
        agent=row["agent"],
        epoch=row["epoch"],
        lease_expires=row["lease_expires"],
        wanted=bool(row["wanted"]),
        store_now=row["store_now"],
        capture=row["capture"],
    )
