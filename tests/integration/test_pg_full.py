"""The PostgreSQL full step: key ranges copied by parallel workers inside one snapshot.

Against a private PostgreSQL server (turnout.testing.servers): tables cut into
several ranges and copied by several workers arrive identical, on the
streamed path and on the row path; old single-range checkpoints still
resume; rows committed after the snapshot opened stay out of the copy and
come through capture.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

from turnout import engines
from turnout.engines.base import Capture, Engine
from turnout.migrate import full, schema
from turnout.migrate.plan import TablePlan, build_plan
from turnout.migrate.progress import NoProgress
from turnout.model import Change, Checkpoint, Op, Position, key_to_json
from turnout.spec import TaskSpec, parse_types
from turnout.verify.digest import table_digest

OWNER = "pgfull"

TABLES = """
CREATE TABLE big (id int PRIMARY KEY, note text, raw bytea, price numeric(10, 2));
INSERT INTO big SELECT g, CASE WHEN g % 7 = 0 THEN NULL
                               ELSE 'row ' || g || E'\\ttab\\nline\\\\slash' END,
                       CASE WHEN g % 5 = 0 THEN '\\x00ff'::bytea END, g / 100.0
FROM generate_series(1, 12000) g;
CREATE TABLE pair (region text COLLATE "C", n int, qty int, PRIMARY KEY (region, n));
INSERT INTO pair SELECT chr(65 + g % 26) || chr(97 + g % 7), g, g * 3
FROM generate_series(1, 9000) g;
CREATE TABLE mid (id bigint PRIMARY KEY, v text);
INSERT INTO mid SELECT g * 3, repeat('m', g % 50) FROM generate_series(1, 1500) g;
ANALYZE;
"""


def make_source(url: str, script: str = TABLES) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(script)


def plans_for(src: Engine, dst: Engine, names: str = "*") -> list[TablePlan]:
    spec = TaskSpec(OWNER, src.endpoint.url, dst.endpoint.url, types=parse_types("schema,full"),
                    tables=(names,))
    return build_plan(spec, src, dst, first_run=True)


def copy(src: Engine, dst: Engine, plans: list[TablePlan], **options: object) -> bool:
    """The schema step, then the full step with `options` (chunk_rows, parallel, ...)."""
    schema.create_tables(dst, plans, NoProgress())
    kwargs: dict = {"chunk_rows": 1000, "progress": NoProgress(), "stop": threading.Event()}
    kwargs.update(options)
    return full.copy_tables(src, dst, plans, OWNER, **kwargs)


def assert_same(src: Engine, dst: Engine, plans: list[TablePlan]) -> None:
    for plan in plans:
        assert table_digest(src, plan.source) == table_digest(dst, plan.dest), plan.source.name


def spans_saved(dst: Engine, table: str) -> list[dict]:
    saved = dst.read_checkpoint(OWNER)
    return [json.loads(v) for k, v in sorted(saved.items()) if k.endswith(f":{table}")]


@pytest.mark.parametrize("direct", [True, False], ids=["streamed-copy", "row-path"])
def test_tables_cut_into_ranges_copy_identically_with_parallel_workers(
    pg_server, pg_url: str, direct: bool
) -> None:
    make_source(pg_url)
    dest_url = pg_server.create_database(f"pg_full_ranges_{direct}".lower())
    src, dst = engines.connect(pg_url), engines.connect(dest_url)
    plans = plans_for(src, dst)
    assert copy(src, dst, plans, parallel=3, allow_direct=direct)
    assert_same(src, dst, plans)
    big, pair, mid = (spans_saved(dst, name) for name in ("big", "pair", "mid"))
    assert len(big) > 5 and len(pair) > 5, (len(big), len(pair))  # several ranges each
    assert all(s["done"] for s in big + pair + mid)
    assert sum(s["rows"] for s in big) == 12000
    assert big[0]["lo"] is None and all("hi" in s for s in big)
    assert len(mid) == 1 and "hi" not in mid[0]  # small: one range, read in two chunks


def test_postgres_ranges_into_sqlite_with_parallel_writers(pg_url: str, tmp_path: Path) -> None:
    make_source(pg_url)
    src = engines.connect(pg_url)
    dst = engines.connect(f"sqlite:///{tmp_path / 'out.db'}", create=True)
    plans = plans_for(src, dst)
    assert copy(src, dst, plans, parallel=3)
    assert len(spans_saved(dst, "big")) > 5
    for plan in plans:  # values differ in type (numeric → REAL), so compare counts and keys
        left = [r[: len(plan.source.key)] for r in src.iter_rows(plan.source)]
        right = [r[: len(plan.dest.key)] for r in dst.iter_rows(plan.dest)]
        assert left == right, plan.source.name


def test_a_single_range_checkpoint_from_before_ranges_resumes(
    pg_server, pg_url: str
) -> None:
    make_source(pg_url)
    dest_url = pg_server.create_database("pg_full_legacy")
    src, dst = engines.connect(pg_url), engines.connect(dest_url)
    plans = plans_for(src, dst, "big")
    schema.create_tables(dst, plans, NoProgress())
    # the first 3000 rows and the checkpoint, as a turnout without ranges left them
    rows = [r for r in src.iter_rows(plans[0].source) if r[0] <= 3000]
    state = {"after": key_to_json((3000,)), "rows": 3000, "done": False}
    dst.load(plans[0].dest, rows, Checkpoint(OWNER, {"full:big": json.dumps(state)}))
    assert copy(src, dst, plans, parallel=3)
    assert_same(src, dst, plans)
    saved = dst.read_checkpoint(OWNER)
    assert list(saved) == ["full:big"]  # the old entry went on; the table was not cut
    assert json.loads(saved["full:big"])["rows"] == 12000


class InsertWhenCounted(NoProgress):
    """Writes to the source once the full step has its snapshot open (it counts inside it)."""

    def __init__(self, url: str) -> None:
        self.url, self.written = url, False

    def table_total(self, source: str, dest: str, rows_total: int) -> None:
        if self.written:
            return
        self.written = True
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("INSERT INTO big VALUES (1000000, 'late', NULL, 1)")
            conn.execute("UPDATE big SET note = 'changed late' WHERE id = 11999")


@pytest.mark.parametrize("parallel", [1, 3])
def test_rows_committed_after_the_snapshot_opens_come_through_capture_not_the_copy(
    pg_server, pg_url: str, parallel: int
) -> None:
    make_source(pg_url)
    dest_url = pg_server.create_database(f"pg_full_late_{parallel}")
    src, dst = engines.connect(pg_url), engines.connect(dest_url)
    plans = plans_for(src, dst, "big")
    capture = src.capture([plans[0].source], f"late{parallel}")
    capture.install()
    start = capture.current_position()
    try:
        assert copy(src, dst, plans, parallel=parallel, progress=InsertWhenCounted(pg_url),
                    exported=capture.exported_snapshot())
        copied = {r[0]: r[1] for r in dst.iter_rows(plans[0].dest)}
        assert 1000000 not in copied and len(copied) == 12000
        assert copied[11999] == "row 11999\ttab\nline\\slash"
        changes = read_changes(capture, start, wanted=2)
        assert (Op.INSERT, (1000000,)) in {(c.op, c.key) for c in changes}
        assert any(c.key == (11999,) and c.after and c.after["note"] == "changed late"
                   for c in changes)
    finally:
        capture.remove()


def read_changes(capture: Capture, start: Position, wanted: int, timeout: float = 20
                 ) -> list[Change]:
    """At least `wanted` changes after `start` (fewer if they do not come within `timeout`)."""
    changes: list[Change] = []
    position, deadline = start, time.time() + timeout
    while len(changes) < wanted and time.time() < deadline:
        batch, position = capture.read(position, 1000)
        changes += batch
    return changes
