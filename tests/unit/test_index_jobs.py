"""How the schema step hands index builds to its builders (migrate/schema.py)."""

from __future__ import annotations

from typing import Any

from turnout.migrate import schema
from turnout.model import Table


class Recorder:
    """Stands for an engine: which builds it was asked for, in order."""

    def __init__(self, parts: dict[str, list[str]]) -> None:
        self.parts = parts
        self.calls: list[tuple[str, Any]] = []

    def index_parts(self, table: Table) -> list[str]:
        return self.parts.get(table.name, [])

    def create_index_part(self, table: Table, part: str) -> None:
        self.calls.append(("part", (table.name, part)))

    def create_indexes_of(self, tables: list[Table]) -> None:
        self.calls.append(("rest", [t.name for t in tables]))


def table(name: str) -> Table:
    return Table(name=name, columns=())


def test_a_table_alone_is_cut_into_its_parts_and_the_last_part_finishes_it() -> None:
    engine = Recorder({"big": ["big_pkey", "big_k", "big_c"]})
    jobs = schema._jobs(engine, [[table("big")], [table("small")]])  # type: ignore[arg-type]
    assert len(jobs) == 4
    for job in jobs:
        job(engine)  # type: ignore[arg-type]
    assert engine.calls == [("part", ("big", "big_pkey")), ("part", ("big", "big_k")),
                            ("part", ("big", "big_c")), ("rest", ["big"]), ("rest", ["small"])]


def test_batches_of_many_tables_and_tables_of_one_part_stay_whole() -> None:
    engine = Recorder({"a": ["a_pkey", "a_k"], "one": ["one_pkey"]})
    jobs = schema._jobs(engine, [[table("a"), table("b")], [table("one")]])  # type: ignore[arg-type]
    for job in jobs:
        job(engine)  # type: ignore[arg-type]
    assert engine.calls == [("rest", ["a", "b"]), ("rest", ["one"])]
