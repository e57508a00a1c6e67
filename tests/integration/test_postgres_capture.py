"""PostgreSQL change capture over the streaming replication protocol, against a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.integration.helpers import running, wait_caught_up
from turnout import api, engines
from turnout.engines.postgres import capture
from turnout.engines.postgres.capture import PgCapture, PgPosition
from turnout.engines.postgres.engine import PostgresEngine
from turnout.model import Change, Op
from turnout.spec import Options, TaskSpec
from turnout.store import Store
from turnout.verify.digest import table_digest


def execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")  # flushed at once, as on a default server
        for statement in statements:
            conn.execute(statement)


def slot_lsn(url: str, name: str = "turnout_%") -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name LIKE %s "
            "AND database = current_database()", (name,),
        ).fetchone()
    assert row is not None, "no slot"
    return int(row[0])


def wal_lsn(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0])


def wait_until(predicate: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture()
def source(pg_url: str) -> Iterator[PostgresEngine]:
    execute(pg_url, "CREATE TABLE t (id int PRIMARY KEY, v text)",
            "INSERT INTO t VALUES (1, 'before')")
    engine = engines.connect(pg_url)
    assert isinstance(engine, PostgresEngine)
    yield engine
    engine.close()


def read_all(
    cap: PgCapture, after: PgPosition, limit: int, want: int, ack: bool = True
) -> list[tuple[list[Change], PgPosition]]:
    """Reads until `want` changes came, acknowledged like the incremental step does."""
    reads: list[tuple[list[Change], PgPosition]] = []
    deadline = time.monotonic() + 30
    while sum(len(batch) for batch, _ in reads) < want:
        assert time.monotonic() < deadline, reads
        changes, end = cap.read(after, limit)
        assert isinstance(end, PgPosition)
        if end != after:
            reads.append((changes, end))
            if ack:
                cap.ack(end)
        after = end
    return reads


def test_a_transaction_larger_than_the_limit_comes_in_pieces(
    source: PostgresEngine, pg_url: str
) -> None:
    cap = source.capture(source.reflect(["t"]), "pieces")
    assert isinstance(cap, PgCapture)
    cap.install()
    start = cap.current_position()
    execute(pg_url, "INSERT INTO t VALUES (2, 'small')",
            "BEGIN; INSERT INTO t SELECT g, 'big' FROM generate_series(10, 2509) g; "
            "UPDATE t SET v = 'bigger' WHERE id = 10; COMMIT")
    reads = read_all(cap, start, 1000, want=2502, ack=False)
    changes = [c for batch, _ in reads for c in batch]
    assert len(changes) == 2502 and changes[-1].op is Op.UPDATE
    assert all(len(batch) <= 1000 for batch, _ in reads)
    small_end = reads[0][1]
    assert [c.key for c in reads[0][0]] == [(2,)] and not small_end.part  # a whole transaction
    pieces = [end for _, end in reads[1:]]
    assert len(pieces) >= 3
    for end in pieces[:-1]:  # inside the big transaction: the checkpoint claims only the small one
        assert end.lsn == small_end.lsn and end.part and end.xact > small_end.lsn
    assert pieces[-1].lsn > small_end.lsn and pieces[-1] == PgPosition(pieces[-1].lsn)
    assert pieces == sorted(pieces) and len(set(pieces)) == len(pieces)
    for batch, end in reads:
        assert all(c.position == end for c in batch)
    # the destination saved the first piece, then crashed: the slot is confirmed up to the small
    # transaction only, and a restart from the checkpoint (which parses to its lsn alone)
    # replays the big transaction whole, and only it
    cap.ack(pieces[0])
    wait_until(lambda: slot_lsn(pg_url) == small_end.lsn)
    cap.close()
    resumed = source.capture(source.reflect(["t"]), "pieces")
    assert isinstance(resumed, PgCapture)
    middle = PgPosition.parse(pieces[0].to_dict()["lsn"])
    again = [c for batch, _ in read_all(resumed, middle, 1000, want=2501) for c in batch]
    assert len(again) == 2501 and again[0].key == (10,)
    resumed.remove()


def test_exported_snapshot_is_where_capture_starts(source: PostgresEngine, pg_url: str) -> None:
    cap = source.capture(source.reflect(["t"]), "snap")
    cap.install()
    name = cap.exported_snapshot()
    assert name
    execute(pg_url, "INSERT INTO t VALUES (2, 'after install')")
    start = cap.current_position()
    assert isinstance(start, PgPosition)
    assert start.lsn == slot_lsn(pg_url, "turnout_snap")  # the slot's consistent point
    table = source.reflect(["t"])[0]
    with source.snapshot(name) as snap:
        assert snap.read_chunk(table, None, 10) == [(1, "before")]
    with source.snapshot() as snap:  # without it: a fresh view sees the new row
        assert len(snap.read_chunk(table, None, 10)) == 2
    [(changes, end)] = read_all(cap, start, 100, want=1)
    assert [(c.op, c.key) for c in changes] == [(Op.INSERT, (2,))]
    assert cap.exported_snapshot() is None  # streaming ended it
    began = time.monotonic()
    assert cap.read(end, 100) == ([], end)  # idle: nothing, soon, and known to be nothing
    assert time.monotonic() - began < 1.0 and cap.oldest_pending_ts(end) is None
    cap.remove()


def test_leftover_slots_are_idle_turnout_slots_no_task_owns(
    source: PostgresEngine, pg_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cap = source.capture(source.reflect(["t"]), "orphan")
    cap.install()
    assert source.leftover_captures(set()) == ["turnout_orphan"]
    assert source.leftover_captures({"orphan"}) == []  # a stopped task owns its idle slot
    cap.read(cap.current_position(), 10)  # streaming now
    assert source.leftover_captures(set()) == []
    cap.close()
    store = Store(tmp_path / "home")  # a task on the same source sees the slot no task owns
    api.create_task(TaskSpec("other", pg_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
    assert api.task_status("other", store, check_source=True)["leftover_slots"] == [
        "turnout_orphan"]
    assert "leftover_slots" not in api.task_status("other", store)
    cap.remove()
    assert source.leftover_captures(set()) == []


def test_feedback_frees_the_slot_after_apply_and_heartbeats_while_idle(
    store: Store, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "HEARTBEAT_S", 0.5)
    execute(pg_url, "CREATE TABLE t (id int PRIMARY KEY, v text)",
            "CREATE TABLE noise (id serial PRIMARY KEY, v text)")
    dst = f"sqlite:///{tmp_path / 'fb.db'}"
    api.create_task(TaskSpec("fb", pg_url, dst, tables=("t",)), store)
    with running(store, "fb"):
        wait_caught_up(store, "fb")
        before = slot_lsn(pg_url)
        execute(pg_url, "INSERT INTO t VALUES (1, 'x')")
        wait_caught_up(store, "fb")
        wait_until(lambda: slot_lsn(pg_url) > before)  # the destination's commit was confirmed
        # only other tables change: the heartbeats carry the slot past their WAL
        for n in range(20):
            execute(pg_url, f"INSERT INTO noise (v) VALUES ('{n}')")
        noise_end = wal_lsn(pg_url)
        wait_until(lambda: slot_lsn(pg_url) >= noise_end)
        saved = api.task_status("fb", store)["position"]
        wait_until(lambda: api.task_status("fb", store)["position"] != saved)
    assert engines.connect(dst).reflect(["t"])[0].name == "t"


def test_big_transaction_through_a_task_ends_with_identical_rows(
    store: Store, pg_server, pg_url: str
) -> None:
    execute(pg_url, "CREATE TABLE t (id int PRIMARY KEY, v text, n int)",
            "INSERT INTO t SELECT g, 'old', 0 FROM generate_series(1, 100) g")
    dest = pg_server.create_database("big_txn_dest")
    api.create_task(TaskSpec("big", pg_url, dest, options=Options(batch_changes=300)), store)
    with running(store, "big"):
        wait_caught_up(store, "big")
        execute(pg_url, "BEGIN; INSERT INTO t SELECT g, 'new', g FROM generate_series(101, 5100) g;"
                " "
                "UPDATE t SET n = n + 1 WHERE id % 7 = 0; DELETE FROM t WHERE id % 11 = 0; "
                "UPDATE t SET id = id + 10000 WHERE id % 13 = 0; COMMIT")
        wait_caught_up(store, "big", timeout=60)
    src, dst = engines.connect(pg_url), engines.connect(dest)
    table = src.reflect(["t"])[0]
    assert table_digest(src, table) == table_digest(dst, table)
    assert api.task_status("big", store)["changes_applied"] >= 5000


def test_precheck_names_replica_identity_and_publication_problems(pg_url: str) -> None:
    execute(
        pg_url,
        "CREATE TABLE fine (id int PRIMARY KEY)",
        "CREATE TABLE nothing (id int PRIMARY KEY)",
        "ALTER TABLE nothing REPLICA IDENTITY NOTHING",
        "CREATE TABLE nokey (code text NOT NULL UNIQUE, v text)",
        "CREATE TABLE other_index (id int PRIMARY KEY, code text NOT NULL UNIQUE)",
        "ALTER TABLE other_index REPLICA IDENTITY USING INDEX other_index_code_key",
        "CREATE TABLE full_ok (code text NOT NULL UNIQUE)",
        "ALTER TABLE full_ok REPLICA IDENTITY FULL",
        "CREATE ROLE precheck_app LOGIN REPLICATION",
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO precheck_app",
    )
    owner = engines.connect(pg_url)
    tables = ["fine", "nothing", "nokey", "other_index", "full_ok"]
    lines = owner.capture_problems("pre", tables)
    assert len(lines) == 3, lines
    assert any("'nothing' has REPLICA IDENTITY NOTHING" in line and
               'ALTER TABLE "public"."nothing" REPLICA IDENTITY FULL' in line for line in lines)
    assert any("'nokey' has no primary key" in line and
               'ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL' in line for line in lines)
    assert any("'other_index'" in line and "leaves out its key id" in line for line in lines)
    app = engines.connect(pg_url.replace("postgres@", "precheck_app@", 1))
    lines = app.capture_problems("pre", ["fine"])
    assert len(lines) == 1 and "may not create the publication turnout_pre" in lines[0]
    assert "ownership of fine" in lines[0] and "CREATE on the database" in lines[0]
    assert 'CREATE PUBLICATION "turnout_pre" FOR TABLE "public"."fine"' in lines[0]
    execute(pg_url, 'CREATE PUBLICATION "turnout_pre" FOR TABLE fine')
    assert app.capture_problems("pre", ["fine"]) == []  # created by the owner: nothing to do
