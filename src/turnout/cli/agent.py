"""`turnout agent` (run one) and `turnout agent list`: parse, call turnout.api, render.

Registered on the main group in main.py. SIGTERM or Ctrl-C stops an agent after it has
handed its tasks back.
"""

from __future__ import annotations

import json
import signal
import threading

import click

from turnout import api


@click.group("agent", invoke_without_command=True)
@click.option("--name", help="The agent's name, unique among live agents (default: the host "
                             "name).")
@click.option("--max-tasks", type=int, default=4, show_default=True,
              help="Run at most this many tasks at once.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), help="Serve GET /metrics "
              "(Prometheus) for the tasks this agent runs on this port (0: any free port).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="Address the metrics port listens on (0.0.0.0: every interface).")
@click.pass_context
def agent_group(ctx: click.Context, name: str | None, max_tasks: int,
                metrics_port: int | None, metrics_host: str) -> None:
    """Run the tasks that should run (see `task start`), with leases, until stopped."""
    if ctx.invoked_subcommand is not None:
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop_metrics = None
    if metrics_port is not None:
        from turnout.web.metrics import serve_agent  # FastAPI loads only with --metrics-port

        where, stop_metrics = serve_agent(api.agent_name(name), metrics_host, metrics_port)
        click.echo(f"metrics at {where}")
    try:
        api.run_agent(name, max_tasks, stop)
    finally:
        if stop_metrics is not None:
            stop_metrics()


@agent_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agent_list(as_json: bool) -> None:
    """The agents the store knows, whether each is alive, and the tasks each runs."""
    agents = api.agent_list()
    if as_json:
        click.echo(json.dumps(agents, indent=2))
        return
    if not agents:
        click.echo("no agents: start one with `turnout agent` on each machine")
    for a in agents:
        state = "alive" if a["alive"] else f"gone (seen {a['seen_s_ago']} s ago)"
        tasks = ", ".join(a["tasks"]) or "no tasks"  # type: ignore[arg-type]
        click.echo(f"{a['name']}  {a['host']} pid {a['pid']}  {state}  "
                   f"{len(a['tasks'])}/{a['max_tasks']}: {tasks}")  # type: ignore[arg-type]
