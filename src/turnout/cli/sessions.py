"""`turnout sessions`: who is connected to a database, and which of them write."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich.console import Console

from turnout import api
from turnout.cli.render import sessions_table

out = Console()


@click.command()
@click.argument("url")
@click.option("--end", "end", multiple=True, metavar="ID",
              help="Disconnect session ID first, rolling back its open transaction (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
def sessions(url: str, end: tuple[str, ...], as_json: bool) -> None:
    """List the sessions (clients) of the database at URL, and which of them write."""
    found = api.end_sessions(url, list(end)) if end else api.sessions(url)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in found], indent=2, default=str))
    else:
        out.print(sessions_table(found))

