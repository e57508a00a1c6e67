"""Tables without a primary key (nor a unique key of NOT NULL columns), on real servers.

Their rows are told apart by nothing but their values, so duplicates must stay duplicates:
the destination must hold exactly the source's multiset of rows, after the full step, and
after a copy that stopped part-way and started again (it starts that table from empty).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from turnout import api, engines
from turnout.migrate import full
from turnout.spec import Options, TaskSpec, parse_types
from turnout.store import Store

from .helpers import execute, insert_sql

PAIRS = [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("mysql", "postgresql"),
         ("postgresql", "mysql")]
IDS = ["-".join(p) for p in PAIRS]
DDL = {
    "postgresql": "CREATE TABLE logs (n int, msg varchar(20), note text)",
    "mysql": "CREATE TABLE logs (n int, msg varchar(20), note text)",
    "sqlite": "CREATE TABLE logs (n INTEGER, msg VARCHAR(20), note TEXT)",
}
# duplicates, rows of NULLs only, NULL beside '' : what a log table without a key holds
ROWS: list[tuple[Any, ...]] = (
    [(1, "x", "dup")] * 3 + [(None, None, None)] * 4 + [(2, "", None), (2, None, "")] * 2
    + [(i % 9, f"m{i % 5}", None if i % 3 else "n") for i in range(120)]
)


@pytest.fixture()
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A fresh, empty database of each engine of the pair."""
    made: list[str] = []
    for i, kind in enumerate(request.param):
        if kind == "sqlite":
            path = tmp_path / f"side{i}.db"
            path.touch()
            made.append(f"sqlite:///{path}")
        else:
            server = request.getfixturevalue("pg_server" if kind == "postgresql"
                                             else "mariadb_server")
            made.append(server.create_database(f"nokey_{i}_{tmp_path.name[-20:]}".lower()))
    return made[0], made[1]


def kind(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else url.split(":")[0]


def multiset(url: str, table: str = "logs") -> Counter[tuple[Any, ...]]:
    """The table's rows as read by turnout, counted."""
    engine = engines.connect(url)
    try:
        return Counter(tuple(row) for row in engine.iter_rows(engine.reflect([table])[0]))
    finally:
        engine.close()


def consistent(source: str, dest: str) -> dict[str, Any]:
    report = api.verify_urls(source, dest, ["logs"])
    logs = next(t for t in report["tables"] if t["source"] == "logs")
    assert not logs["keyed"]
    assert report["consistent"], logs
    return logs


@pytest.mark.parametrize("urls", PAIRS, indirect=True, ids=IDS)
def test_full_step_copies_a_table_without_a_key_duplicates_included(
        store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    execute(source, DDL[kind(source)], insert_sql(source, "logs", ROWS))
    api.create_task(TaskSpec("copy", source, dest, types=parse_types("schema,full"),
                             options=Options(chunk_rows=16)), store)
    assert api.run_task("copy", None, store) == "Completed", api.task_status("copy", store)
    assert multiset(dest) == multiset(source) == Counter(ROWS)
    assert consistent(source, dest)["rows_dest"] == len(ROWS)


@pytest.mark.parametrize("urls", PAIRS[:3], indirect=True, ids=IDS[:3])
def test_a_copy_stopped_part_way_starts_the_table_again_from_empty(
        store: Store, urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    source, dest = urls
    execute(source, DDL[kind(source)], insert_sql(source, "logs", ROWS))
    api.create_task(TaskSpec("copy", source, dest, types=parse_types("schema,full"),
                             options=Options(chunk_rows=16)), store)
    commit = full._Copier._commit
    stop_after: list[Any] = []

    def commit_then_stop(self: Any, span: Any, rows: int, last: Any) -> None:
        commit(self, span, rows, last)
        if span.rows >= 32:  # two chunks committed, the table half copied
            self.job.stop.set()
            stop_after.append(span.rows)

    monkeypatch.setattr(full._Copier, "_commit", commit_then_stop)
    assert api.run_task("copy", None, store) == "Stopped"
    assert stop_after and sum(multiset(dest).values()) == stop_after[0] < len(ROWS)
    monkeypatch.setattr(full._Copier, "_commit", commit)
    assert api.run_task("copy", None, store) == "Completed", api.task_status("copy", store)
    assert multiset(dest) == Counter(ROWS)
    consistent(source, dest)
