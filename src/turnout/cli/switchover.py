"""`turnout switchover`, `rollback` and `finish`: options in, steps shown as they happen."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from turnout import api

out = Console()


def _say(as_json: bool) -> Any:
    if as_json:
        return lambda _: None
    return lambda message: out.print(Text.assemble(("• ", "cyan"), message), highlight=False)


def _done(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))


@click.command()
@click.argument("name")
@click.option("--max-delay", default=5.0, show_default=True, help="Refuse to begin when the "
              "task is delayed more than this many seconds.")
@click.option("--no-freeze", is_flag=True, help="Do not freeze writes: the application has "
              "been stopped already.")
@click.option("--session-timeout", default=60.0, show_default=True,
              help="Seconds to wait for sessions that can still write to leave.")
@click.option("--kill-sessions", is_flag=True, help="End those sessions instead of giving up.")
@click.option("--lock-accounts", is_flag=True, help="Lock out the accounts that could write "
              "past the freeze (superusers, READ_ONLY ADMIN...) until rollback or finish, "
              "instead of refusing.")
@click.option("--grace", default=0.0, show_default=True,
              help="Seconds to wait after zero lag is proved, before the task stops.")
@click.option("--on-switch", "on_switch", metavar="CMD",
              help="Command to run when the workload may move (DNS, proxy, env file).")
@click.option("--abort", is_flag=True, help="Undo a switchover (or a rollback) that has not "
              "finished.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def switchover(name: str, max_delay: float, no_freeze: bool, session_timeout: float,
               kill_sessions: bool, lock_accounts: bool, grace: float, on_switch: str | None,
               abort: bool, as_json: bool) -> None:
    """Switch the workload to the destination, with a reverse task as the way back."""
    if abort:
        _done(api.switchover_abort(name, say=_say(as_json)), as_json)
        return
    _done(api.switchover(name, say=_say(as_json), max_delay=max_delay, freeze=not no_freeze,
                         session_timeout=session_timeout, kill_sessions=kill_sessions,
                         lock_accounts=lock_accounts, grace=grace, on_switch=on_switch),
          as_json)


@click.command()
@click.argument("name")
@click.option("--no-freeze", is_flag=True, help="Do not freeze writes on the destination: the "
              "application has been stopped already.")
@click.option("--session-timeout", default=60.0, show_default=True,
              help="Seconds to wait for sessions that can still write to leave.")
@click.option("--kill-sessions", is_flag=True, help="End those sessions instead of giving up.")
@click.option("--lock-accounts", is_flag=True, help="Lock out the accounts that could write "
              "past the freeze until the next switchover or finish, instead of refusing.")
@click.option("--grace", default=0.0, show_default=True,
              help="Seconds to wait after zero lag is proved, before the reverse task stops.")
@click.option("--on-switch", "on_switch", metavar="CMD",
              help="Command to run when the workload may move back (DNS, proxy, env file).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rollback(name: str, no_freeze: bool, session_timeout: float, kill_sessions: bool,
             lock_accounts: bool, grace: float, on_switch: str | None, as_json: bool) -> None:
    """Move the workload back to the source after a switchover, with nothing lost."""
    _done(api.rollback(name, say=_say(as_json), freeze=not no_freeze,
                       session_timeout=session_timeout, kill_sessions=kill_sessions,
                       lock_accounts=lock_accounts, grace=grace, on_switch=on_switch), as_json)


@click.command()
@click.argument("name")
@click.option("--keep-accounts", is_flag=True, help="Leave the migration accounts in place.")
@click.option("--admin-source", metavar="URL", help="An admin URL for the source's server, to "
              "drop the task's migration account there.")
@click.option("--admin-dest", metavar="URL", help="The same for the destination.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def finish(name: str, keep_accounts: bool, admin_source: str | None, admin_dest: str | None,
           as_json: bool) -> None:
    """After switchover: stop the reverse task and remove everything turnout installed."""
    _done(api.finish(name, say=_say(as_json), keep_accounts=keep_accounts,
                     admins={"source": admin_source, "dest": admin_dest}), as_json)

