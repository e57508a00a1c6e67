"""`turnout task precheck | pause | resume`: what a DBA does to a task besides running it.

Exit codes as everywhere: 0 success (precheck: nothing in the way), 1 the operation
failed (precheck: problems found), 2 bad input (an unknown task, pausing a task that
does not run).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console

from turnout import api

out = Console()


@click.command("precheck")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True,
              help='Print the report as JSON: {"ok", "problems", "tables", "switchover", "ddl"}.')
def task_precheck(name: str, as_json: bool) -> None:
    """Check NAME can run (connections, rights, keys, log settings) without starting it;
    exit 1 when something is in the way."""
    report = api.precheck(name)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_precheck(name, report)
    if not report["ok"]:
        sys.exit(1)


def _print_precheck(name: str, report: dict[str, Any]) -> None:
    if not report["ok"]:
        out.print(f"task [bold]{name}[/] cannot start yet:")
        for problem in report["problems"]:
            out.print(f"  - {problem}", markup=False, highlight=False)
        return
    out.print(f"task [bold]{name}[/] is ready: {len(report['tables'])} tables")
    for table in report["tables"]:
        arrow = table["source"] if table["source"] == table["dest"] else (
            f"{table['source']} → {table['dest']}")
        out.print(f"  {arrow}", markup=False, highlight=False)
    if report.get("ddl"):
        out.print(report["ddl"], markup=False, highlight=False)
    if report.get("switchover"):
        out.print("a switchover's freeze would stop at:")
        for problem in report["switchover"]:
            out.print(f"  - {problem}", markup=False, highlight=False)


@click.command("pause")
@click.argument("name")
def task_pause(name: str) -> None:
    """Stop NAME's worker after its batch, keeping its capture position (slot, triggers,
    binlog position) so `task resume` goes on without losing a change."""
    status = api.pause_task(name)
    out.print(f"task [bold]{name}[/] is {status['state']}")


@click.command("resume")
@click.argument("name")
def task_resume(name: str) -> None:
    """Start a paused NAME again in a detached worker, from its checkpoint."""
    pid = api.resume_task(name)
    worker = f"worker pid {pid}" if pid is not None else "handed to the agents"
    out.print(f"task [bold]{name}[/] resumed ({worker}); "
              f"`turnout task status {name}` shows progress")


COMMANDS = (task_precheck, task_pause, task_resume)
