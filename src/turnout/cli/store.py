"""`turnout store`: where the store is, and copying the SQLite file into a PostgreSQL store.

Registered on the main group in main.py; errors reach cli.main(), which prints them as one
line with exit code 2 (bad input) or 1 (the operation failed). A store URL is printed
with its password hidden.
"""

from __future__ import annotations

import click

from turnout import api


@click.group("store")
def store_group() -> None:
    """The task store: an SQLite file (default) or a shared PostgreSQL database."""


@store_group.command("show")
def store_show() -> None:
    """Say where the store is (a URL's password hidden) and its schema version."""
    click.echo(api.store_info())


@store_group.command("copy")
@click.option("--to", "to", required=True, metavar="URL",
              help="The PostgreSQL store to copy into, e.g. postgresql://turnout@db/turnout.")
def store_copy(to: str) -> None:
    """Copy every task of the SQLite store under $TURNOUT_HOME into the store at URL."""
    names = api.copy_store(to)
    click.echo(f"copied {len(names)} task(s)" + (f": {', '.join(names)}" if names else "")
               + "; set TURNOUT_STORE (or --store) to that URL on every machine")
