"""`turnout serve` and the hidden `turnout worker`: tasks that run inside this process.

`serve` loads FastAPI and the web console (turnout.web) only when it runs; `worker` is
what `task start` and agents launch for one task.
"""

from __future__ import annotations

import signal
import sys
import threading

import click

from turnout import api


@click.command("worker", hidden=True)
@click.argument("name")
@click.option("--epoch", type=int, default=None, help="The agent's lease epoch (agents only).")
def worker(name: str, epoch: int | None) -> None:
    """Run NAME as a detached worker (what `task start` and agents launch)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if api.run_task(name, stop, epoch=epoch) == "Failed":
        sys.exit(1)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token.")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--token", envvar="TURNOUT_TOKEN", help="Bearer token the API and console require "
              "(default: $TURNOUT_TOKEN).")
def serve(host: str, port: int, token: str | None) -> None:
    """Serve the REST API and the web console; tasks started there run in this process."""
    from turnout.web.server import serve as run_server  # FastAPI loads only for `serve`

    run_server(host, port, token, announce=click.echo)

