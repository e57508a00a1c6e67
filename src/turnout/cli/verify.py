"""`turnout verify`: parse, call turnout.api, render.

Registered on the main group in main.py; errors reach cli.main(), which prints them as one
line with exit code 2 (bad input) or 1 (the operation failed), and a report that finds
differences exits with 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console

from turnout import api
from turnout.cli.render import verify_progress, verify_view
from turnout.errors import BadInput

out = Console()
err = Console(stderr=True)


@click.command("verify")
@click.argument("name", required=False)
@click.option("--source", help="Source URL, to compare two databases without a task.")
@click.option("--dest", help="Destination URL (with --source).")
@click.option("--tables", multiple=True, help="Table name or glob to compare (repeatable; with "
              "--source/--dest).")
@click.option("--level", type=click.Choice(["schema", "count", "content"]), default="content",
              show_default=True, help="How deep to compare.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Queries running at once.")
@click.option("--max-rows-per-second", type=click.FloatRange(min=1), help="Read at most this "
              "many rows per second (both sides together), to spare production.")
@click.option("--recheck", is_flag=True, help="Read differing rows again before reporting them "
              "(always done while the task runs: rows in flight are not reported).")
@click.option("--repair", type=click.Choice(["dest", "source"]),
              help="Write SQL (Redis: a key plan) that makes this side match the other.")
@click.option("--repair-file", type=click.Path(dir_okay=False),
              help="Where the repair goes (default: turnout-repair-NAME.sql, .txt for Redis).")
@click.option("--apply", "apply_", is_flag=True, help="Run the repair as well.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(name: str | None, source: str | None, dest: str | None,
                   tables: tuple[str, ...], level: str, threads: int,
                   max_rows_per_second: float | None, recheck: bool, repair: str | None,
                   repair_file: str | None, apply_: bool, as_json: bool) -> None:
    """Prove a task's (or two databases') tables hold the same rows; exit 1 when they differ."""
    options: dict[str, Any] = dict(level=level, threads=threads,
                                   max_rows_per_second=max_rows_per_second,
                                   recheck=recheck, repair=repair, repair_file=repair_file,
                                   apply=apply_)
    if not as_json:
        options["say"] = lambda message: err.print(message, style="dim", highlight=False)
    with verify_progress(err, enabled=not as_json) as progress:
        if name and not (source or dest or tables):
            report = api.verify_task(name, progress=progress, **options)
        elif source and dest and not name:
            report = api.verify_urls(source, dest, list(tables), progress=progress, **options)
        else:
            raise BadInput("give a task NAME, or --source and --dest (not both)")
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        out.print(verify_view(report))
    if not report["consistent"]:
        sys.exit(1)
