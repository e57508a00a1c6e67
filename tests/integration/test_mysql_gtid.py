"""Resuming MariaDB binlog capture by GTID (`?resume_by=gtid`), against a private MariaDB server.

The checkpoint stored on the destination carries the GTID state next to the file and
offset; with resume_by=gtid a resumed stream starts from that state, which a failed-over
server understands even though its binlog files have other names. A failover is simulated
by renaming the stored checkpoint's file to one the server never had.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bank import Business, build_source, finish_and_compare, kill_worker
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute, purge_binlogs
from turnout import api, engines
from turnout.engines.mysql.positions import MysqlPosition
from turnout.errors import BadInput
from turnout.spec import Options, TaskSpec
from turnout.store import Store

GTID_STATE = re.compile(r"^\d+-\d+-\d+(,\d+-\d+-\d+)*$")
GONE_FILE = "gone-primary-bin.000042"  # a binlog file the server never had


def by_gtid(url: str) -> str:
    return url + "?resume_by=gtid"


def stored_position(dest: str, task: str) -> dict[str, Any]:
    """The position the destination's checkpoint holds for the task (what a resume reads)."""
    engine = engines.connect(dest)
    try:
        saved: dict[str, Any] = json.loads(engine.read_checkpoint(task)["position"])
        return saved
    finally:
        engine.close()


def wait_position(dest: str, task: str, timeout: float = 30) -> dict[str, Any]:
    """The stored position, once the incremental step has saved one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine = engines.connect(dest)
        try:
            saved = engine.read_checkpoint(task).get("position")
        finally:
            engine.close()
        if saved:
            position: dict[str, Any] = json.loads(saved)
            return position
        time.sleep(0.1)
    raise AssertionError(f"{task} saved no position within {timeout} s")


def fail_over_checkpoint(dest: str, task: str) -> dict[str, Any]:
    """Point the stored checkpoint at a binlog file the server does not have, keeping its
    offset and GTID: what a resume sees after the source failed over to another server."""
    position = {**stored_position(dest, task), "file": GONE_FILE}
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute("UPDATE _turnout_checkpoint SET value = %s WHERE owner = %s AND name = "
                    "'position'", (json.dumps(position, sort_keys=True), task))
        assert cur.rowcount == 1
    return position


def gtid_at(mariadb_server: Any, file: str, pos: int) -> str:
    """The server's own GTID state at a file and offset."""
    return str(mariadb_server.sql(f"SELECT BINLOG_GTID_POS('{file}', {int(pos)})"))


def seq(state: str, domain: int = 0) -> int:
    found = [int(g.split("-")[2]) for g in state.split(",") if g.split("-")[0] == str(domain)]
    assert len(found) == 1, state
    return found[0]


def test_an_unknown_resume_by_is_refused_in_one_line(mysql_url: str) -> None:
    with pytest.raises(BadInput) as refused:
        engines.connect(mysql_url + "?resume_by=lsn")
    message = str(refused.value)
    assert "resume_by=lsn" in message and "use one of file, gtid" in message
    assert "\n" not in message


def test_the_checkpoint_carries_the_gtid_state_and_it_advances(
    store: Store, mariadb_server: Any, mysql_url: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE item (id int PRIMARY KEY, name text)")
    dest = mysql_url + "_dst"
    api.create_task(TaskSpec("gtid-ckpt", by_gtid(mysql_url), dest), store)
    states = []
    with running(store, "gtid-ckpt"):
        wait_caught_up(store, "gtid-ckpt")
        for round_ in range(2):
            my_execute(mysql_url, f"INSERT INTO item VALUES ({round_}, 'r{round_}');\n"
                       f"UPDATE item SET name = 'u' WHERE id = {round_}")
            wait_caught_up(store, "gtid-ckpt")
            saved = stored_position(dest, "gtid-ckpt")
            assert GTID_STATE.match(saved["gtid"]), saved
            # the GTID names exactly the place the file and offset name
            assert saved["gtid"] == gtid_at(mariadb_server, saved["file"], saved["pos"])
            states.append(saved["gtid"])
        status = json.loads(api.task_status("gtid-ckpt", store)["position"])
        assert GTID_STATE.match(status["gtid"])
    assert seq(states[1]) >= seq(states[0]) + 2  # two transactions later, at least
    same_rows(mysql_url, dest, ["item"])


def test_pieces_of_a_large_transaction_carry_the_gtid_state_before_it(
    mariadb_server: Any, mysql_url: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE item (id int PRIMARY KEY, name text)")
    engine = engines.connect(by_gtid(mysql_url))
    try:
        (table,) = engine.reflect(["item"])
        start = engine.capture([table], "gtid_pieces").current_position()
        assert isinstance(start, MysqlPosition) and start.gtid
        # one transaction of 250 rows, in row events of a few dozen rows each
        my_execute(mysql_url, "INSERT INTO item SELECT seq, repeat('x', 200) FROM seq_1_to_250")
        batches, end = read_to_commit(engine.capture([table], "gtid_pieces_a"), start)
        check_pieces(batches, start)
        assert end.gtid == gtid_at(mariadb_server, end.file, end.pos)
        assert seq(end.gtid) == seq(start.gtid) + 1
        # by GTID from a file the server never had: the same transaction, the same end
        gone = MysqlPosition(GONE_FILE, start.pos, start.gtid)
        again, end_again = read_to_commit(engine.capture([table], "gtid_pieces_b"), gone)
        check_pieces(again, gone)
        assert end_again == end and end_again.gtid == end.gtid
    finally:
        engine.close()


def read_to_commit(capture: Any, after: MysqlPosition, limit: int = 100,
                   timeout: float = 30) -> tuple[list[tuple[list[Any], Any]], MysqlPosition]:
    """Read like the incremental step until the position moves (the transaction has ended):
    the batches of changes, each with the position handed out with it, and that end."""
    batches: list[tuple[list[Any], Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        changes, position = capture.read(after, limit)
        if changes:
            batches.append((changes, position))
        if position != after:
            assert isinstance(position, MysqlPosition)
            return batches, position
    raise AssertionError(f"no transaction end within {timeout} s after batches of "
                         f"{[len(changes) for changes, _ in batches]} changes")


def check_pieces(batches: list[tuple[list[Any], Any]], start: MysqlPosition) -> None:
    """All 250 rows came, the first ones in pieces that stand where the transaction began,
    with the GTID state before it: a crash after a piece replays the whole transaction."""
    assert sum(len(changes) for changes, _ in batches) == 250
    pieces = [(changes, position) for changes, position in batches if position == start]
    assert pieces and len(batches) - len(pieces) <= 1  # then the rest, with the commit
    for changes, position in pieces:
        assert position.gtid == start.gtid
        assert {(c.position, c.position.gtid) for c in changes} == {(start, start.gtid)}


def test_resume_by_gtid_when_the_binlog_file_is_unknown(
    store: Store, mysql_url: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE item (id int PRIMARY KEY, name text)")
    for n, (task, url) in enumerate((("fo-gtid", by_gtid(mysql_url)), ("fo-file", mysql_url))):
        dest = f"{mysql_url}_{task.replace('-', '_')}"
        api.create_task(TaskSpec(task, url, dest, options=Options(batch_changes=40)), store)
        with running(store, task):
            wait_caught_up(store, task)
            my_execute(mysql_url, f"INSERT INTO item VALUES ({1000 + n}, 'a')")
            wait_caught_up(store, task)
    # both tasks stopped; the source moves on (one transaction in pieces) and "fails over"
    my_execute(mysql_url, "INSERT INTO item SELECT seq, 'while stopped' FROM seq_11_to_200;\n"
               "UPDATE item SET name = 'changed' WHERE id % 3 = 0;\n"
               "DELETE FROM item WHERE id % 7 = 0")
    gtid_dest, file_dest = f"{mysql_url}_fo_gtid", f"{mysql_url}_fo_file"
    moved = fail_over_checkpoint(gtid_dest, "fo-gtid")
    fail_over_checkpoint(file_dest, "fo-file")
    assert api.run_task("fo-file", store=store) == "Failed"
    error = api.task_status("fo-file", store)["error"]
    assert GONE_FILE in error and "has been purged" in error and "--resnapshot" in error
    with running(store, "fo-gtid"):
        wait_caught_up(store, "fo-gtid")
        my_execute(mysql_url, "INSERT INTO item VALUES (500, 'after the failover')")
        wait_caught_up(store, "fo-gtid")
        same_rows(mysql_url, gtid_dest, ["item"])
    after = stored_position(gtid_dest, "fo-gtid")
    assert after["file"] != GONE_FILE and seq(after["gtid"]) > seq(moved["gtid"])


def test_resume_by_gtid_from_purged_binlogs_fails_clearly(
    store: Store, mariadb_server: Any, mysql_url: str, tmp_path: Path
) -> None:
    my_execute(mysql_url, "CREATE TABLE item (id int PRIMARY KEY, name text)")
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("gtid-purge", by_gtid(mysql_url), dest), store)
    with running(store, "gtid-purge"):
        wait_caught_up(store, "gtid-purge")
        my_execute(mysql_url, "INSERT INTO item VALUES (1, 'seen')")
        wait_caught_up(store, "gtid-purge")
    my_execute(mysql_url, "INSERT INTO item VALUES (2, 'lost unless re-copied')")
    purge_binlogs(mariadb_server)
    assert api.run_task("gtid-purge", store=store) == "Failed"
    error = api.task_status("gtid-purge", store)["error"]
    assert "GTID position" in error and "not in the binlogs" in error
    assert "--resnapshot" in error and "\n" not in error


@pytest.mark.slow
def test_kill_stop_and_resume_by_gtid_under_writes(store: Store, mysql_url: str) -> None:
    build_source(mysql_url, 5_000)
    dest = mysql_url + "_dst"
    api.create_task(TaskSpec("gtid-crash", by_gtid(mysql_url), dest,
                             options=Options(chunk_rows=1000, batch_changes=100)), store)
    business = Business(mysql_url, 5_000)
    business.start()
    rng = random.Random(7)
    try:
        api.start_task("gtid-crash", store)
        api.wait_for("gtid-crash", lambda s: s["phase"] == "incremental" and s["pid"], 120,
                     store)
        for round_ in range(4):  # kill -9 at random moments, or stop, while changes flow
            time.sleep(rng.uniform(0.3, 0.8))
            assert GTID_STATE.match(wait_position(dest, "gtid-crash").get("gtid", ""))
            if round_ == 2:
                api.stop_task("gtid-crash", store)
                time.sleep(1.0)  # the source keeps writing while the task is stopped
            else:
                kill_worker(store, "gtid-crash")
            api.start_task("gtid-crash", store)
            api.wait_for("gtid-crash", lambda s: s["phase"] == "incremental" and s["pid"], 60,
                         store)
        finish_and_compare(store, "gtid-crash", mysql_url, dest, business)
        saved = stored_position(dest, "gtid-crash")
        assert GTID_STATE.match(saved["gtid"])
    finally:
        business.halt.set()
        if api.task_status("gtid-crash", store)["pid"]:  # a failed test leaves no worker
            kill_worker(store, "gtid-crash")
