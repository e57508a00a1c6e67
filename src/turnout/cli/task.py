"""`turnout task …`: define, run, watch and delete migration tasks.

Loaded by main.py when a `task` command runs (or --help lists them); taskops.py and
operating.py add precheck, pause, resume and set to the group.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.live import Live

from turnout import api
from turnout.cli import follow, taskops
from turnout.cli.operating import operating_options, task_set, with_operating
from turnout.cli.rates import TableRates
from turnout.cli.render import status_view, tasks_table
from turnout.errors import BadInput
from turnout.spec import spec_from_flags, spec_from_toml
from turnout.storedb import STORE_ENV

out = Console()
err = Console(stderr=True)


@click.group()
def task() -> None:
    """Create, run and watch migration tasks."""


@task.command("create")
@click.argument("name")
@click.option("--source", help="Source database URL, e.g. sqlite:///app.db")
@click.option("--dest", help="Destination database URL.")
@click.option("--tables", multiple=True, help="Table name or glob to include (repeatable).")
@click.option("--exclude", multiple=True, help="Table name or glob to leave out (repeatable).")
@click.option("--rename", multiple=True, help="OLD=NEW for a table, TABLE.OLD=NEW for a column.")
@click.option("--types", help="Any of schema,full,incremental (default: all three).")
@click.option("--cast", multiple=True,
              help="TABLE.COLUMN=TYPE: the destination column's type, e.g. t.total=decimal(12,2).")
@click.option("--where", "wheres", multiple=True,
              help="TABLE=EXPR: move only the rows EXPR holds for, e.g. "
                   "\"orders=status = 'open' AND total > 10\" (repeatable).")
@click.option("--mask", "masks", multiple=True,
              help="TABLE.COLUMN=hash|null|redact|keep-last:N: what the destination holds "
                   "instead of the value (repeatable).")
@click.option("--on-truncate", type=click.Choice(["apply", "stop"]),
              help="A TRUNCATE at the source: empty the destination table too (apply, the "
                   "default) or stop the task there.")
@click.option("--on-drop", type=click.Choice(["apply", "stop"]),
              help="A DROP TABLE at the source: drop the destination table too (apply) or "
                   "wait at the DDL barrier (stop, the default).")
@click.option("--file", "file_", type=click.Path(), help="Read the definition from a TOML file.")
@click.option("--json", "as_json", is_flag=True, help="Print the new task as JSON.")
@operating_options
def task_create(name: str, source: str | None, dest: str | None, tables: tuple[str, ...],
                exclude: tuple[str, ...], rename: tuple[str, ...], types: str | None,
                cast: tuple[str, ...], wheres: tuple[str, ...], masks: tuple[str, ...],
                on_truncate: str | None, on_drop: str | None, file_: str | None,
                as_json: bool, operating: dict[str, Any]) -> None:
    """Define a migration task NAME."""
    if file_:
        if (source or dest or tables or exclude or rename or types or cast or on_truncate
                or on_drop or wheres or masks):
            raise click.UsageError("give either --file or the flags, not both")
        spec = spec_from_toml(name, file_)
    else:
        spec = spec_from_flags(name, source, dest, list(tables), list(exclude), list(rename),
                               types, list(cast), list(wheres), list(masks))
        if on_truncate:
            spec = replace(spec, options=replace(spec.options, on_truncate=on_truncate))
        if on_drop:
            spec = replace(spec, options=replace(spec.options, on_drop=on_drop))
    status = api.create_task(with_operating(spec, operating))
    if as_json:
        _print_json(status)
    else:
        out.print(f"created task [bold]{name}[/]: {status['source']} → {status['dest']} "
                  f"({', '.join(status['types'])})")


@task.command("start")
@click.argument("name")
@click.option("--resnapshot", is_flag=True,
              help="Empty the destination tables and copy everything again first (after the "
                   "source purged changes the task had not read).")
def task_start(name: str, resnapshot: bool) -> None:
    """Start NAME in a detached worker and return."""
    pid = api.start_task(name, resnapshot=resnapshot)
    if pid is None:
        out.print(f"task [bold]{name}[/] handed to the agents: one takes it within seconds; "
                  f"`turnout task status {name}` shows which")
        return
    alone = " (no agent is alive, so it runs here)" if os.environ.get(STORE_ENV) else ""
    out.print(f"task [bold]{name}[/] started (worker pid {pid}){alone}; "
              f"`turnout task status {name}` shows progress")


@task.command("run")
@click.argument("name")
def task_run(name: str) -> None:
    """Run NAME in the foreground with live progress; Ctrl-C stops it cleanly. When a worker
    already runs NAME, follow its progress instead (Ctrl-C then leaves the worker running)."""
    if follow.running_elsewhere(name):
        err.print(f"task {name} already runs (pid {api.task_status(name)['pid']}): following "
                  "it; Ctrl-C stops following, `turnout task stop` stops the task",
                  highlight=False)
        if follow.follow(out, name)["state"] == "Failed":
            sys.exit(1)
        return
    stop = threading.Event()
    result: list[str] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(api.run_task(name, stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="runner")
    # Ctrl-C asks the runner to stop; raising KeyboardInterrupt into a join() instead
    # can leave Python 3.11 believing the runner ended while it still writes.
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.start()
    # Where the output is not a terminal, Live shows only its last view: the views between
    # would be built for nothing, reading the store four times a second and keeping the
    # copy's threads waiting for the interpreter meanwhile.
    tick = 0.25 if out.is_terminal else 5.0
    try:
        rates = TableRates()
        with Live(status_view(api.task_status(name)), console=out, refresh_per_second=4) as live:
            while worker.is_alive():
                worker.join(tick)  # returns the moment the task ends, not at the next tick
                current = api.task_status(name)
                live.update(status_view(current, rates.update(current)))
    finally:
        stop.set()
        worker.join()
        signal.signal(signal.SIGINT, previous)
    if failure:
        raise failure[0]
    if result and result[0] == "Failed":
        sys.exit(1)


@task.command("stop")
@click.argument("name")
def task_stop(name: str) -> None:
    """Stop NAME after the batch it is applying."""
    status = api.stop_task(name)
    out.print(f"task [bold]{name}[/] is {status['state']}")


@task.command("status")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--watch", is_flag=True, help="Refresh the view each second until Ctrl-C or "
              "until the task stops, pauses, completes or fails.")
def task_status(name: str, as_json: bool, watch: bool) -> None:
    """Show state, phase, delay and per-table progress of NAME."""
    if watch:
        if as_json:
            raise BadInput("give --watch or --json, not both")
        if follow.follow(out, name)["state"] == "Failed":
            sys.exit(1)
        return
    api.notice_dead_workers(names=[name])  # a worker killed with -9: alerted once
    status = api.task_status(name, check_source=True)
    if as_json:
        _print_json(status)
    else:
        out.print(status_view(status))


@task.command("events")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
def task_events(name: str, as_json: bool) -> None:
    """Show the event log of NAME."""
    entries = [e for e in api.events(name) if e["level"] != "debug"]
    if as_json:
        _print_json(entries)
        return
    for e in entries:
        ts = datetime.fromtimestamp(e["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"{ts}  {e['level']:<5}  {e['message']}", markup=False)


@task.command("ddl")
@click.argument("name")
@click.option("--apply", "apply_", is_flag=True, help="Run the proposed destination statements.")
@click.option("--apply-sql", type=click.Path(exists=True, dir_okay=False),
              help="Run the statements in this file on the destination instead.")
@click.option("--skip", is_flag=True, help="Go on without changing the destination.")
@click.option("--json", "as_json", is_flag=True, help="Print the DDL (or what was done) as JSON.")
def task_ddl(name: str, apply_: bool, apply_sql: str | None, skip: bool, as_json: bool) -> None:
    """Show the DDL NAME waits at, or let the task past it (and start it again)."""
    chosen = [how for how, given in (("apply", apply_), ("apply-sql", apply_sql),
                                     ("skip", skip)) if given]
    if len(chosen) > 1:
        raise BadInput("give one of --apply, --apply-sql FILE and --skip")
    if not chosen:
        shown = api.task_ddl(name)
        if as_json:
            _print_json(shown)
        else:
            _print_ddl(shown)
        return
    sql = None
    if apply_sql:
        with open(apply_sql, encoding="utf-8") as f:
            sql = f.read()
    done = api.resolve_ddl(name, chosen[0], sql)
    pid = api.start_task(name)
    done["started"] = pid
    if as_json:
        _print_json(done)
    else:
        out.print(f"DDL {done['id']} on {done['table']}: {chosen[0]}; task [bold]{name}[/] "
                  f"started again (pid {pid})")


def _print_ddl(shown: dict[str, Any]) -> None:
    waiting = shown["waiting"]
    if waiting is None:
        out.print(f"task [bold]{shown['task']}[/] waits at no DDL")
        return
    out.print(f"DDL {waiting['id']} on {waiting['table']} waits:", markup=False)
    out.print(f"  source ran:  {' '.join(waiting['statement'].split())}", markup=False)
    for why in waiting["held"]:
        out.print(f"  held:        {why}", markup=False)
    for statement in waiting["proposed"] or ["(none: write your own for --apply-sql)"]:
        out.print(f"  proposed:    {statement}", markup=False)
    out.print("then: turnout task ddl NAME --apply | --apply-sql FILE | --skip", markup=False)


@task.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print every task's status as JSON, with its full (password-free) URLs.")
def task_list(as_json: bool) -> None:
    """List all tasks."""
    api.notice_dead_workers()  # a worker killed with -9: alerted once
    tasks = api.list_tasks()
    if as_json:
        _print_json(tasks)
    elif tasks:
        out.print(tasks_table(tasks))
    else:
        out.print("no tasks yet: `turnout task create NAME --source URL --dest URL`")


@task.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Forget the task even if a side cannot be cleaned.")
def task_delete(name: str, force: bool) -> None:
    """Stop NAME, remove its triggers / change log / checkpoints, and forget it."""
    for note in api.delete_task(name, force=force):
        out.print(note)
    out.print(f"task [bold]{name}[/] deleted")



for _command in (*taskops.COMMANDS, task_set):
    task.add_command(_command)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))
