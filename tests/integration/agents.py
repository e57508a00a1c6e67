"""Helpers for tests of agents: an agent as a real process group (a machine of its own, which
`kill -9` of the group loses whole), and waiting on tasks through the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from turnout import api


class AgentProcess:
    """`turnout agent --name NAME` in a process group of its own."""

    def __init__(self, home: Path, store_url: str, name: str, max_tasks: int = 10,
                 metrics_port: int | None = None, **env: str) -> None:
        self.name = name
        self.log = open(home.parent / f"agent-{name}.log", "ab")  # noqa: SIM115 - closed in stop
        environment = dict(os.environ, TURNOUT_HOME=str(home), TURNOUT_STORE=store_url, **env)
        metrics = ["--metrics-port", str(metrics_port)] if metrics_port is not None else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "turnout", "agent", "--name", name,
             "--max-tasks", str(max_tasks), *metrics],
            stdout=self.log, stderr=self.log, env=environment, start_new_session=True)

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """SIGTERM (the agent hands its tasks back), then make sure the group is gone."""
        if self.proc.poll() is None:
            self.signal_group(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        self.proc.wait()
        self.log.close()


def until(what: Callable[[], Any], timeout: float, message: str = "") -> Any:
    """Poll `what` until it returns something true; that value."""
    deadline = time.time() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.time() < deadline, f"not within {timeout} s: {message}"
        time.sleep(0.2)


def holders(names: list[str]) -> dict[str, str | None]:
    """Which agent runs each task, from `task status --json`'s "agent"."""
    return {n: api.task_status(n)["agent"] for n in names}


def wait_agents(count: int, timeout: float = 30) -> None:
    until(lambda: sum(a["alive"] for a in api.agent_list()) >= count, timeout,
          f"{count} agents alive")
