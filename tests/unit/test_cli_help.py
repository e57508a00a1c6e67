"""Every command and option of `turnout` says what it does in --help, and `task list` shows
where each database is without its user or password."""

from __future__ import annotations

import click
import pytest

from turnout.cli import cli
from turnout.cli.render import place


def undocumented(command: click.Command, path: str) -> list[str]:
    """The commands and options under `command` (hidden ones aside) without help text."""
    if command.hidden:
        return []
    missing = [] if (command.help or command.short_help) else [path]
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden and not param.help:
            missing.append(f"{path} {'/'.join(param.opts)}")
    if isinstance(command, click.Group):  # the group loads its commands when asked for them
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name} is listed but does not load"
            missing += undocumented(sub, f"{path} {name}")
    return missing


def test_every_command_and_option_has_help_text() -> None:
    assert undocumented(cli, "turnout") == []


def test_the_walk_finds_an_option_without_help() -> None:
    @click.command()
    @click.option("--bare", is_flag=True)
    def bare(bare: bool) -> None:
        """Documented."""

    assert undocumented(bare, "x") == ["x --bare"]


@pytest.mark.parametrize(("url", "shown"), [
    ("sqlite:///app.db", "sqlite app.db"),
    ("sqlite:////srv/data/shop/app.db?mode=ro", "sqlite shop/app.db"),
    ("postgresql://admin:***@db1.example.com:5433/shop?sslmode=require",
     "postgresql db1.example.com:5433/shop"),
    ("mysql://root:secret@[::1]:3306/crm", "mysql [::1]:3306/crm"),
    ("mysql+pymysql://u@host/db", "mysql host/db"),
])
def test_task_list_shows_host_and_database_never_user_or_password(url: str, shown: str) -> None:
    assert place(url) == shown
    assert "secret" not in place(url) and "admin" not in place(url)
