"""The options of a task that concern running it rather than what it moves: alerts and
throttling, on `task create`, and `turnout task set` to change a setting while it runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from turnout import api
from turnout.spec import TaskSpec

OPTIONS = (
    click.option("--alert-webhook", metavar="URL",
                 help="POST a JSON alert here when the task fails, stays delayed, finds stray "
                      "writes or a switchover step fails."),
    click.option("--alert-delay-s", type=click.FloatRange(min=0), metavar="N",
                 help="Alert when the delay stays above N seconds for a minute (0: never)."),
    click.option("--max-rows-per-second", type=click.FloatRange(min=0), metavar="N",
                 help="Write at most N rows a second in the full step and apply (0: no limit;"
                      " `turnout task set` changes it while the task runs)."),
    click.option("--max-bytes-per-second", type=click.FloatRange(min=0), metavar="N",
                 help="Write at most N bytes of row data a second (0: no limit)."),
)
NAMES = ("alert_webhook", "alert_delay_s", "max_rows_per_second", "max_bytes_per_second")


def operating_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the options to a command, which receives them as one `operating` dict."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        operating = {name: kwargs.pop(name) for name in NAMES}
        return command(*args, operating=operating, **kwargs)

    for option in reversed(OPTIONS):
        wrapped = option(wrapped)
    return wrapped


def with_operating(spec: TaskSpec, operating: dict[str, Any]) -> TaskSpec:
    """The spec with the options given on the command line (over a task file's)."""
    alerts, options = spec.alerts, spec.options
    if operating.get("alert_webhook") is not None:
        alerts = replace(alerts, webhook=operating["alert_webhook"])
    if operating.get("alert_delay_s") is not None:
        alerts = replace(alerts, delay_s=operating["alert_delay_s"])
    for name in ("max_rows_per_second", "max_bytes_per_second"):
        if operating.get(name) is not None:
            options = replace(options, **{name: operating[name]})
    return replace(spec, alerts=alerts, options=options)


@click.command("set")
@click.argument("name")
@click.argument("settings", nargs=-1, required=True, metavar="OPTION=VALUE...")
def task_set(name: str, settings: tuple[str, ...]) -> None:
    """Change options of task NAME, e.g. max_rows_per_second=5000; a running task takes
    throttling changes within a second."""
    pairs: dict[str, str] = {}
    for item in settings:
        if "=" not in item:
            raise click.UsageError(f"{item!r} has no '=': write OPTION=VALUE")
        key, value = item.split("=", 1)
        pairs[key.strip()] = value.strip()
    changed = api.set_options(name, pairs)
    click.echo(", ".join(f"{k} = {v}" for k, v in changed.items()))
