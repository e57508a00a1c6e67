"""`turnout backup` and `turnout restore`: parse, call turnout.api, render.

Registered on the main group in main.py; errors reach cli.main(), which prints them as one
line with exit code 2 (bad input) or 1 (the operation failed).
"""

from __future__ import annotations

import json
from typing import Any

import click

from turnout import api


@click.command("backup")
@click.argument("name")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False),
              help="New (or empty) directory for the backup.")
@click.option("--tool", type=click.Choice(api.BACKUP_TOOLS), default="auto", show_default=True,
              help="native: the engine's dump tool (pg_dump, mysqldump, SQLite's backup API); "
                   "turnout: turnout's own reader into an SQLite file, restorable into any "
                   "engine; auto: native when installed.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def backup_command(name: str, to: str, tool: str, as_json: bool) -> None:
    """Back up the tables task NAME selects on its source, consistently, into DIR."""
    made = api.backup(name, to, tool=tool)
    if as_json:
        _print_json(made)
        return
    click.echo(f"backed up {_summary(made['tables'])} of {made['source']} with {made['tool']} "
               f"into {made['dir']} ({made['seconds']:.1f} s)")
    if made.get("note"):
        click.echo(f"note: {made['note']}")


@click.command("restore")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--to", "url", help="Database URL to restore into (default: the task's source).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def restore_command(directory: str, url: str | None, as_json: bool) -> None:
    """Replace the rows of the tables backed up in DIR with the backup's (the task's source,
    or --to URL)."""
    done = api.restore(directory, url)
    if as_json:
        _print_json(done)
        return
    click.echo(f"restored {_summary(done['tables'])} into {done['target']} from {done['dir']} "
               f"({done['seconds']:.1f} s)")


def _summary(tables: list[dict[str, Any]]) -> str:
    rows = sum(int(t["rows"]) for t in tables)
    return f"{len(tables)} table{'s' * (len(tables) != 1)} ({rows:,} rows)"


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))
