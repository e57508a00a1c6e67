"""A DDL turnout does not make by itself waits at the barrier with everything before it
applied; `turnout task ddl` shows it, and --apply, --apply-sql and --skip each let it go."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
from click.testing import CliRunner

from tests.integration.ddl import deleting
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_ddl_postgres import ACCT, run_ddl, writing
from turnout import api, engines
from turnout.cli.main import cli
from turnout.spec import TaskSpec
from turnout.store import Store


def column_type(url: str, column: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'acct'::regclass AND attname = %s", (column,)).fetchone()[0]


def wait_at_barrier(store: Store, url: str, statement: str) -> dict:
    """Run `statement` on the source while the task runs: it stops Paused at it."""
    with running(store, "bar", expect=("Paused",)):
        wait_caught_up(store, "bar", timeout=60)
        run_ddl(url, [statement], 0)
        api.wait_for("bar", lambda s: s["state"] == "Paused", 60, store)
    waiting = api.task_ddl("bar", store)["waiting"]
    assert waiting is not None and statement in waiting["statement"]
    return waiting


def test_narrowing_waits_and_each_answer_lets_it_go(store: Store, pg_server, pg_url: str,
                                                     tmp_path: Path) -> None:
    dest = pg_server.create_database(f"bar_{time.time_ns()}")
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("bar", pg_url, dest), store)
    with deleting(store, "bar"), writing(pg_url) as writer:
        # --apply: the proposed statement runs on the destination
        waiting = wait_at_barrier(store, pg_url, "ALTER TABLE acct ALTER COLUMN name TYPE "
                                                 "varchar(8)")
        assert any("varchar(20) to varchar(8)" in why for why in waiting["held"]), waiting
        assert waiting["proposed"] == [
            'ALTER TABLE "public"."acct" ALTER COLUMN "name" TYPE character varying(8), '
            'ALTER COLUMN "name" DROP NOT NULL, ALTER COLUMN "name" DROP DEFAULT']
        status = api.task_status("bar", store)
        assert status["state"] == "Paused" and "task ddl bar" in status["error"]
        assert column_type(dest, "name") == "character varying(20)"  # not before the answer
        done = api.resolve_ddl("bar", "apply", store=store)
        assert done["how"] == "apply" and done["ran"] == waiting["proposed"]
        assert column_type(dest, "name") == "character varying(8)"
        assert api.task_ddl("bar", store)["waiting"] is None

        # --apply-sql: the person's own statements run instead
        waiting = wait_at_barrier(store, pg_url, "ALTER TABLE acct ALTER COLUMN n TYPE smallint")
        shown = CliRunner().invoke(cli, ["task", "ddl", "bar", "--json"])
        assert shown.exit_code == 0 and json.loads(shown.output)["waiting"] == waiting
        shown = CliRunner().invoke(cli, ["task", "ddl", "bar"])
        assert "proposed:" in shown.output and "TYPE smallint" in shown.output, shown.output
        both = CliRunner().invoke(cli, ["task", "ddl", "bar", "--apply", "--skip"])
        assert both.exit_code != 0 and api.task_ddl("bar", store)["waiting"] == waiting
        own = tmp_path / "own.sql"
        own.write_text("ALTER TABLE acct ALTER COLUMN n TYPE integer;\n"
                       "COMMENT ON COLUMN acct.n IS 'kept wide on purpose';\n")
        api.resolve_ddl("bar", "apply-sql", own.read_text(), store=store)
        assert column_type(dest, "n") == "integer"

        # --skip: nothing runs; rows after it still fit, so the task goes on
        wait_at_barrier(store, pg_url, "ALTER TABLE acct ALTER COLUMN amount TYPE numeric(7,2)")
        api.resolve_ddl("bar", "skip", store=store)
        assert column_type(dest, "amount") == "numeric(8,2)"

        with running(store, "bar"):
            wait_caught_up(store, "bar", timeout=60)
            writer.halt.set()
            writer.join(10)
            time.sleep(0.3)
            wait_caught_up(store, "bar", timeout=60)
            assert api.task_status("bar", store)["state"] == "Migrating"
        same_rows(pg_url, dest, ["acct"])
        messages = [e["message"] for e in api.events("bar", store=store)]
        assert sum("waits at the barrier" in m for m in messages) >= 3
        assert any("at the barrier skipped" in m for m in messages)
        assert any("at the barrier apply-sql" in m for m in messages)
    assert engines.connect(dest).table_exists("acct")


def test_the_cli_answers_and_a_skipped_change_whose_rows_no_longer_fit_stops_the_task(
        store: Store, pg_server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """`task ddl NAME --apply` and `--skip` as a person types them (each starts the task again
    in a worker of its own), and the promise of --skip: rows written after it must still fit
    the destination's column, or the task stops naming it."""
    dest = pg_server.create_database(f"skipcli_{time.time_ns()}")
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("bar", pg_url, dest), store)
    with deleting(store, "bar"):
        wait_at_barrier(store, pg_url, "ALTER TABLE acct ALTER COLUMN name TYPE varchar(8)")
        applied = CliRunner().invoke(cli, ["task", "ddl", "bar", "--apply", "--json"])
        assert applied.exit_code == 0, applied.output
        answer = json.loads(applied.output)
        assert answer["how"] == "apply" and answer["started"], answer
        assert column_type(dest, "name") == "character varying(8)"
        wait_caught_up(store, "bar", timeout=60)

        run_ddl(pg_url, ["ALTER TABLE acct ALTER COLUMN n TYPE text"], 0)  # held: int → text
        api.wait_for("bar", lambda s: s["state"] == "Paused", 60, store)
        skipped = CliRunner().invoke(cli, ["task", "ddl", "bar", "--skip"])
        assert skipped.exit_code == 0 and "skip; task bar started again" in skipped.output, \
            skipped.output
        assert column_type(dest, "n") == "integer"
        run_ddl(pg_url, ["INSERT INTO acct VALUES (1001, 'x', '77', 1)"], 0)  # still fits
        wait_caught_up(store, "bar", timeout=60)

        run_ddl(pg_url, ["INSERT INTO acct VALUES (1002, 'y', 'many', 1)"], 0)
        failed = api.wait_for("bar", lambda s: s["state"] in ("Failed", "Paused"), 60, store)
        assert failed["state"] == "Failed", failed
        assert failed["error"].startswith(
            "acct.n: the destination refuses the value of the row with key (1002)"), failed
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT n FROM acct WHERE id = 1001").fetchone() == (77,)
