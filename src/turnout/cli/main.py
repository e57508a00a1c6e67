"""The `turnout` command line. Parses, calls turnout.api, renders; holds no logic of its own.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or input.

The group names its commands by import string (COMMANDS) and loads a command's module when
that command runs, or when --help lists them: `turnout verify` then imports verification
and not the store, the task runner, switchover or the web console. Loading every module
at each start cost about half a CPU second, more than a small verification's own work.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import click
from rich.console import Console
from rich.text import Text

from turnout.errors import TurnoutError
from turnout.storedb import STORE_ENV

# each command of the group: the module that defines it and its name there
COMMANDS = {
    "accounts": "turnout.cli.accounts:accounts",
    "agent": "turnout.cli.agent:agent_group",
    "backup": "turnout.cli.backup:backup_command",
    "demo": "turnout.cli.demo:demo",
    "finish": "turnout.cli.switchover:finish",
    "restore": "turnout.cli.backup:restore_command",
    "rollback": "turnout.cli.switchover:rollback",
    "serve": "turnout.cli.serve:serve",
    "sessions": "turnout.cli.sessions:sessions",
    "store": "turnout.cli.store:store_group",
    "switchover": "turnout.cli.switchover:switchover",
    "task": "turnout.cli.task:task",
    "verify": "turnout.cli.verify:verify_command",
    "worker": "turnout.cli.serve:worker",
}

err = Console(stderr=True)


class LazyGroup(click.Group):
    """A group whose commands (COMMANDS) are imported the first time they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, name = COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--store", "store_url", metavar="URL",
              help="A PostgreSQL store shared by agents (default: $TURNOUT_STORE, else "
                   "store in $TURNOUT_HOME/config.toml, else the SQLite file there).")
@click.version_option(package_name="turnout")
def cli(debug: bool, store_url: str | None) -> None:
    """Migrate live databases and switch workloads over with a ready rollback path."""
    if store_url:
        os.environ[STORE_ENV] = store_url  # the workers this command starts inherit it


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) or exc.exit_code == 2 else exc.exit_code)
    except TurnoutError as exc:
        if debug:
            traceback.print_exc()
        for line in str(exc).splitlines():
            err.print(Text.assemble(("error: ", "bold red"), line), highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, unless --debug
        if debug:
            traceback.print_exc()
        message = f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
        err.print(Text.assemble(("error: ", "bold red"), message), highlight=False)
        sys.exit(1)
