"""Running tasks in a thread of the test process, and waiting on their status."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from tests.integration.pairs import kind, own_cursor
from turnout import api, engines
from turnout.cli.demo import Shop, create_chinook
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store
from turnout.verify.digest import table_digest


def make_task(store: Store, name: str, src: Path, dst: Path, types: str = "schema,full,incremental",
              **kwargs: object) -> TaskSpec:
    spec = TaskSpec(name=name, source=f"sqlite:///{src}", dest=f"sqlite:///{dst}",
                    types=parse_types(types), **kwargs)  # type: ignore[arg-type]
    api.create_task(spec, store)
    return spec


@contextmanager
def running(
    store: Store, name: str, expect: tuple[str, ...] = ("Stopped", "Completed")
) -> Iterator[threading.Event]:
    """The task runs in a background thread for the duration of the block, then stops."""
    stop = threading.Event()
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(api.run_task(name, stop, store)))
    thread.start()
    while thread.is_alive() and api.task_status(name, store)["pid"] is None:
        time.sleep(0.01)  # until the runner has claimed the task
    try:
        yield stop
    finally:
        stop.set()
        thread.join(60)
    assert result and result[0] in expect, (result, api.task_status(name, store))


def wait_caught_up(store: Store, name: str, timeout: float = 30) -> dict:
    """Wait until everything committed on the source so far is applied."""
    return api.wait_caught_up(name, timeout, store)


def chinook_under_writes(store: Store, name: str, src: Path, dest: str) -> list[str]:
    """Copy the Chinook demo into `dest` while its shop keeps selling, until caught up;
    then every table holds the same rows on both sides. The tables' names."""
    create_chinook(src)
    api.create_task(TaskSpec(name, f"sqlite:///{src}", dest), store)
    shop = Shop(src)
    with running(store, name):
        shop.start()
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
        time.sleep(2)  # the shop keeps selling while changes flow
        shop.halt.set()
        shop.join()
        wait_caught_up(store, name, timeout=60)
    assert shop.transactions > 10
    return same_rows(f"sqlite:///{src}", dest)


def same_rows(src: str, dst: str, tables: list[str] | None = None) -> list[str]:
    """Assert that the tables (all of the source's by default) match; their names."""
    source, dest = engines.connect(src), engines.connect(dst)
    try:
        names = tables or source.list_tables()
        for table in source.reflect(names):
            assert table_digest(source, table) == table_digest(dest, table), table.name
        return names
    finally:
        source.close()
        dest.close()


class Writer(threading.Thread):
    """Keeps a source busy until halted: transactions of 1 to `max_statements` random
    statements each (what they are is the subclass's one()), counted in `transactions`."""

    max_statements = 20

    def __init__(self, next_id: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.next_id = next_id  # the next key an insert or a key move takes
        self.halt = threading.Event()
        self.transactions = 0
        self.rng = random.Random(seed)

    def run(self) -> None:
        with self.connect() as conn:
            while not self.halt.is_set():
                with self.transaction(conn) as cur:
                    for _ in range(self.rng.randint(1, self.max_statements)):
                        self.one(cur)
                self.transactions += 1
                time.sleep(0.002)

    def connect(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def transaction(self, conn: Any) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def one(self, cur: Any) -> None:
        raise NotImplementedError


class AppWriter(Writer):
    """A Writer on the database of `url`, on any engine, through the engine's own driver as
    an application would write (a cursor whose statements take %s or literal values)."""

    def __init__(self, url: str, next_id: int, seed: int) -> None:
        super().__init__(next_id, seed)
        self.url = url

    def connect(self) -> AbstractContextManager[Any]:
        return own_cursor(self.url)

    @contextmanager
    def transaction(self, cur: Any) -> Iterator[Any]:
        # SQLite takes its write lock at once: a reader's lock upgraded later could deadlock
        cur.execute("BEGIN IMMEDIATE" if kind(self.url) == "sqlite" else "BEGIN")
        yield cur
        cur.execute("COMMIT")


def execute(url: str, *statements: str) -> None:
    """Run statements on any engine's database, through turnout's own connection to it."""
    engine = engines.connect(url)
    reader = engine.verify_reader()
    try:
        cur = reader.conn.cursor()
        for statement in statements:
            cur.execute(statement)
        cur.close()
    finally:
        reader.close()
        engine.close()


def insert_sql(url: str, table: str, rows: list[tuple[Any, ...]]) -> str:
    """An INSERT of Python values, written in the engine's own literals."""
    engine = engines.connect(url)
    reader = engine.verify_reader()
    try:
        values = ", ".join("(" + ", ".join(reader.literal(v) for v in row) + ")" for row in rows)
        return f"INSERT INTO {reader.quote(table)} VALUES {values}"
    finally:
        reader.close()
        engine.close()
