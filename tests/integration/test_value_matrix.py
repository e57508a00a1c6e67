"""The value-domain matrix: every edge value through the full step, the incremental step and
the reverse task, in all nine directions between SQLite, PostgreSQL and MySQL.

Every cell must be exact, or refused at precheck by a line that names the table and column.
A table whose values arrive altered, or whose task stops later, is a failure, unless it is
listed in KNOWN_WRONG, which names what is still to fix; an entry there that has started to
pass fails too, so the list only shrinks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.conftest import unique_db_name
from tests.integration.matrix import readers
from tests.integration.matrix.cases import CASES, Case
from turnout import api
from turnout.migrate import setup
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store

ENGINES = ("sqlite", "postgres", "mysql")
INCREMENTAL_ID = 1000  # the incremental step's copy of row k is row k + 1000
REVERSE_ID = 2000  # the reverse task's copy of row k is row k + 2000
NULL_ID = 999
TIMEOUT = 60

# direction -> tables still wrong there (each one a bug to fix; remove as they pass)
KNOWN_WRONG: dict[str, set[str]] = {}


@dataclass
class Outcome:
    refused: dict[str, str] = field(default_factory=dict)  # table -> precheck line
    wrong: dict[str, str] = field(default_factory=dict)  # table -> what differs / why it stopped

    def report(self) -> str:
        lines = [f"refused {t}: {why}" for t, why in sorted(self.refused.items())]
        lines += [f"WRONG {t}: {why}" for t, why in sorted(self.wrong.items())]
        return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("source", ENGINES)
@pytest.mark.parametrize("dest", ENGINES)
def test_value_matrix(source: str, dest: str, store: Store, request: pytest.FixtureRequest,
                      tmp_path: Path) -> None:
    direction = f"{source}->{dest}"
    src_url = _database(source, "src", request, tmp_path)
    dst_url = _database(dest, "dst", request, tmp_path)
    cases = [c for c in CASES[source] if _seed(src_url, c)]
    try:
        outcome = _forward(store, f"{source[:2]}{dest[:2]}", src_url, dst_url, cases)
        live = [c for c in cases if c.table not in outcome.refused | outcome.wrong.keys()]
        _reverse(store, f"{source[:2]}{dest[:2]}", src_url, dst_url, live, outcome)
    finally:
        for task in api.list_tasks(store):  # replication slots are few and server-wide
            api.delete_task(task["name"], store, force=True)
    print(f"\n{direction}\n{outcome.report()}\nwrong: {direction!r}: {sorted(outcome.wrong)}")
    known = KNOWN_WRONG.get(direction, set())
    assert set(outcome.wrong) - known == set(), outcome.report()
    assert known - set(outcome.wrong) == set(), f"now exact, drop from KNOWN_WRONG: {known}"


# ------------------------------------------------------------------ databases and seeding


def _database(engine: str, role: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / f'{role}.db'}"
    server = request.getfixturevalue("pg_server" if engine == "postgres" else "mariadb_server")
    return str(server.create_database(f"{unique_db_name(request)[:50]}_{role}"))


def _seed(url: str, case: Case) -> bool:
    """Create the case's table and insert every value the source itself accepts."""
    statements = [*case.setup, f"CREATE TABLE {case.table} (id integer PRIMARY KEY, v {case.ddl})"]
    with _connection(url, zero_dates=case.slug.startswith("zero_")) as run:
        for statement in statements:
            run(statement)
        accepted = 0
        for i, literal in enumerate(case.values, start=1):
            try:
                run(f"INSERT INTO {case.table} (id, v) VALUES ({i}, {literal})")
                accepted += 1
            except Exception as exc:  # noqa: BLE001 - the source's own domain decides
                print(f"source refuses {case.table} value {literal}: {exc}")
        run(f"INSERT INTO {case.table} (id, v) VALUES ({NULL_ID}, NULL)")
    return accepted > 0


class _connection:
    """A plain driver connection that runs statements one by one, committing each."""

    def __init__(self, url: str, zero_dates: bool = False) -> None:
        self.url, self.zero_dates = url, zero_dates

    def __enter__(self) -> Any:
        if self.url.startswith("sqlite"):
            import sqlite3
            self.conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            return self.conn.execute
        if self.url.startswith("postgres"):
            self.conn = psycopg.connect(self.url, autocommit=True)
            return self.conn.execute
        self.conn = readers._mysql_connect(self.url)
        cur = self.conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        if self.zero_dates:
            cur.execute("SET sql_mode = ''")
        return cur.execute

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


# ------------------------------------------------------------------ forward: full + incremental


def _forward(store: Store, prefix: str, src_url: str, dst_url: str,
             cases: list[Case]) -> Outcome:
    """Run the forward task over the cases, setting aside what precheck refuses and what
    stops the task."""
    outcome = Outcome()

    def attempt(name: str, group: list[Case]) -> str | None:
        api.create_task(TaskSpec(name, src_url, dst_url, tables=tuple(c.table for c in group),
                                 types=parse_types("schema,full,incremental")), store)
        check = api.precheck(name, store)
        if not check["ok"]:
            _refusals(check["problems"], group, outcome)
            api.delete_task(name, store)
            return REFUSED
        failure = _run_forward(store, name, src_url, group)
        if failure is not None:
            api.delete_task(name, store, force=True)
            _drop_dest_tables(dst_url, [c.table for c in group])
        return failure

    finished = _settle(f"{prefix}f", cases, attempt, outcome, "task stopped")
    _compare_forward(src_url, dst_url, finished, outcome)
    return outcome


REFUSED = "refused at precheck"


def _settle(prefix: str, cases: list[Case], attempt: Any, outcome: Outcome,
            what: str) -> list[Case]:
    """Run `attempt` over the cases until each one went through or was set aside (refused, or
    named by the error that stopped the task); an error that names no table is narrowed down
    by halving the set. The cases that went through."""
    names = iter(f"{prefix}{i}" for i in range(10_000))  # slot names are server-wide
    pending, through = [list(cases)], []
    while pending:
        group = [c for c in pending.pop() if c.table not in outcome.refused]
        if not group:
            continue
        failure = attempt(next(names), group)
        if failure is None:
            through += group
        elif failure == REFUSED:
            pending.append(group)
        else:
            named = [c for c in group if c.table in failure]
            if not named and len(group) > 1:
                pending += [group[: len(group) // 2], group[len(group) // 2:]]
                continue
            for case in named or group:
                outcome.wrong[case.table] = f"{what}: {failure}"
            pending.append([c for c in group if c not in (named or group)])
    return through


def _refusals(problems: list[str], cases: list[Case], outcome: Outcome) -> None:
    for line in problems:
        named = [c.table for c in cases if f"{c.table}." in line or f"'{c.table}'" in line]
        assert named, f"a precheck line names no matrix table: {line}"
        for table in named:
            assert f"{table}.v" in line, f"a precheck line names no column: {line}"
            outcome.refused[table] = line


def _run_forward(store: Store, name: str, src_url: str, cases: list[Case]) -> str | None:
    """Run the task until the copy and then the incremental copy of every row are applied;
    the task's error if it stopped."""
    with _Running(store, name) as task:
        if (error := task.wait_caught_up()) is not None:
            return error
        for case in cases:
            _copy_rows(src_url, case.table, INCREMENTAL_ID, case.slug.startswith("zero_"))
        return task.wait_caught_up()


def _copy_rows(url: str, table: str, offset: int, zero_dates: bool = False) -> None:
    """A copy of every row under a new key, made by the database itself: the values stay
    exactly what they were, and they reach the capture as new changes."""
    with _connection(url, zero_dates) as run:
        run(f"DELETE FROM {table} WHERE id >= {offset}")  # an earlier attempt's copy
        run(f"INSERT INTO {table} (id, v) SELECT id + {offset}, v FROM {table} "
            f"WHERE id < {INCREMENTAL_ID}")


def _compare_forward(src_url: str, dst_url: str, cases: list[Case], outcome: Outcome) -> None:
    same = src_url.split(":")[0][:5] == dst_url.split(":")[0][:5]
    for case in cases:
        source, dest = readers.read(src_url, case.table), readers.read(dst_url, case.table)
        differs = _differences(source, dest, case.kind, same)
        if differs:
            outcome.wrong[case.table] = differs


def _differences(source: dict[int, Any], dest: dict[int, Any], kind: str, same: bool) -> str:
    out = []
    for key in sorted(set(source) | set(dest)):
        if key not in dest:
            out.append(f"id {key} missing ({source[key]!r})")
        elif key not in source:
            out.append(f"id {key} extra ({dest[key]!r})")
        else:
            a, b = _comparable(source[key], kind, same), _comparable(dest[key], kind, same)
            if a != b or type(a) is not type(b):
                out.append(f"id {key}: {source[key]!r} became {dest[key]!r}")
    return "; ".join(out[:6])


def _comparable(value: Any, kind: str, same: bool) -> Any:
    if same and kind not in ("json", "float4"):
        return readers.canon(value, "")
    return readers.canon(value, kind, cross=not same)


def _drop_dest_tables(url: str, tables: list[str]) -> None:
    with _connection(url) as run:
        for table in tables:
            run(f"DROP TABLE IF EXISTS {table}")


# ------------------------------------------------------------------ reverse task


def _reverse(store: Store, prefix: str, src_url: str, dst_url: str, cases: list[Case],
             outcome: Outcome) -> None:
    """A reverse task as switchover starts it (incremental only, destination to source): rows
    written on the destination must come back to the source exactly."""

    def attempt(name: str, group: list[Case]) -> str | None:
        tables = [c.table for c in group]
        for url in (dst_url, src_url):
            _delete_from(url, tables, REVERSE_ID)
        api.create_task(TaskSpec(name, dst_url, src_url, tables=tuple(tables),
                                 types=parse_types("incremental")), store)
        setup.prepare(store, name)
        with _Running(store, name) as task:
            if (error := task.wait_phase()) is None:
                for table in tables:
                    _copy_rows(dst_url, table, REVERSE_ID)
                error = task.wait_caught_up()
        api.delete_task(name, store, force=True)
        return error

    for case in _settle(f"{prefix}r", cases, attempt, outcome, "reverse task stopped"):
        rows = readers.read(src_url, case.table)
        back = {k - REVERSE_ID: v for k, v in rows.items() if k >= REVERSE_ID}
        first = {k: v for k, v in rows.items() if k < INCREMENTAL_ID}
        differs = _differences(first, back, case.kind, same=True)
        if differs:
            outcome.wrong[case.table] = f"reverse: {differs}"


def _delete_from(url: str, tables: list[str], from_id: int) -> None:
    with _connection(url) as run:
        for table in tables:
            run(f"DELETE FROM {table} WHERE id >= {from_id}")


class _Running:
    """A task running in a thread of this process for the duration of a block."""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name
        self.stop = threading.Event()
        self.thread = threading.Thread(target=api.run_task, args=(name, self.stop, store))

    def __enter__(self) -> _Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)

    def _status(self) -> dict[str, Any]:
        return api.task_status(self.name, self.store)

    def wait_phase(self) -> str | None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            status = self._status()
            if status["state"] == "Failed":
                return str(status["error"])
            if status["phase"] == "incremental" and status["state"] == "Migrating":
                return None
            time.sleep(0.05)
        return f"timed out waiting for the incremental phase: {self._status()}"

    def wait_caught_up(self) -> str | None:
        if (error := self.wait_phase()) is not None:
            return error
        try:
            api.wait_caught_up(self.name, TIMEOUT, self.store)
        except Exception as exc:  # noqa: BLE001 - a failed task is the outcome to report
            status = self._status()
            return str(status["error"] or exc)
        return None

