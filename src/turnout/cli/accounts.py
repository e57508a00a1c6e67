"""`turnout accounts`: least-privilege migration accounts, from the command line.

Parses, calls turnout.api, renders. The only password ever printed is
one turnout generated, once, by `create`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from turnout import api
from turnout.errors import BadInput


@click.group("accounts")
def accounts() -> None:
    """Create least-privilege accounts for a task's source and destination, and undo them."""


@accounts.command("create")
@click.argument("url")
@click.option("--for", "role", type=click.Choice(["source", "dest"]), required=True,
              help="The side of a task the account serves.")
@click.option("--user", required=True, help="The new account's name (letters, digits, _).")
@click.option("--password-env", metavar="VAR",
              help="Take the password from $VAR instead of generating one.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create(url: str, role: str, user: str, password_env: str | None, as_json: bool) -> None:
    """Create account USER on the database at URL (an administrator's URL) for a task's
    source or destination, and print its grants."""
    password = None
    if password_env is not None:
        password = os.environ.get(password_env)
        if not password:
            raise BadInput(f"${password_env} is not set or empty: export the password in it")
    result = api.create_account(url, role, user, password)
    if as_json:
        _print_json(result)
        return
    click.echo(f"created {role} account {user}; its URL: {result['url']}")
    click.echo(result["grants"])
    if "password" in result:
        click.echo(f"password (shown this once; keep it now): {result['password']}")


@accounts.command("revoke-write")
@click.argument("url")
@click.option("--user", required=True, help="The migration account.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def revoke_write(url: str, user: str, as_json: bool) -> None:
    """Leave account USER able to read only (after switchover, for a last verification)."""
    _report(api.revoke_write(url, user), f"account {user} may no longer write", as_json)


@accounts.command("drop")
@click.argument("url")
@click.option("--user", required=True, help="The migration account.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def drop(url: str, user: str, as_json: bool) -> None:
    """Remove account USER; what it owns passes to the account of URL."""
    _report(api.drop_account(url, user), f"account {user} dropped", as_json)


def _report(result: dict[str, Any], done: str, as_json: bool) -> None:
    if as_json:
        _print_json(result)
    else:
        click.echo(done)
        click.echo(result["grants"])


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))
