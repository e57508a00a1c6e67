"""`turnout agent`: a long-running process that runs the tasks that should run, on any machine
that shares the store.

Every TICK_S it says it is alive, renews the lease of each task it runs (every RENEW_S),
reaps workers that ended (handing their tasks back), and takes tasks nobody holds while it
runs fewer than `max_tasks` and no live agent runs fewer than it does (so new tasks go to
the least-loaded agent). Each task runs in a worker process of its own (`turnout worker
NAME --epoch E`), in the agent's process group: a machine that is lost takes its workers
with it, and their leases expire.

A lease it fails to renew was taken over: its worker is killed at once (the destination
would refuse its batches anyway, model.Checkpoint). SIGTERM hands every task back at once:
workers stop after their batch, leases are released, and the tasks stay wished to run, so
another agent takes them without waiting for a lease to expire.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from turnout import leases, vault
from turnout.errors import BadInput, TurnoutError
from turnout.store import Store
from turnout.tasks.orphans import DeadWorkerSweep, worker_killed

TICK_S = 0.5
HAND_BACK_S = 30.0  # how long a worker may take to stop after its batch on SIGTERM


@dataclass
class _Held:
    epoch: int
    proc: subprocess.Popen[bytes]
    renewed: float = field(default_factory=time.monotonic)


class Agent:
    """One agent: its name, how many tasks it runs at most, and the workers it runs."""

    def __init__(self, store: Store, name: str | None = None, max_tasks: int = 4) -> None:
        if max_tasks < 1:
            raise BadInput("--max-tasks must be 1 or more")
        self.store, self.max_tasks = store, max_tasks
        self.host = socket.gethostname()
        self.name = agent_name(name)
        self.started = time.time()
        self.held: dict[str, _Held] = {}

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, then hand every task back."""
        self._check_name()
        DeadWorkerSweep(self.store, stop).start()  # workers started by hand
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except TurnoutError as exc:  # the store is away: leases run out by themselves
                    print(f"agent {self.name}: {exc}", file=sys.stderr, flush=True)
                stop.wait(TICK_S)
        finally:
            self.hand_back()

    def _check_name(self) -> None:
        """Two live agents with one name would each think the other's tasks are theirs."""
        for other in leases.alive(self.store):
            if other.name == self.name and (other.host, other.pid) != (self.host, os.getpid()):
                raise BadInput(f"an agent named {self.name!r} is alive on {other.host} (pid "
                               f"{other.pid}): give this one another --name")

    def tick(self) -> None:
        leases.beat(self.store, self.name, self.host, os.getpid(), self.max_tasks, self.started)
        self._renew()
        self._reap()
        self._take()

    def _renew(self) -> None:
        now = time.monotonic()
        for task, held in list(self.held.items()):
            if now - held.renewed < leases.RENEW_S:
                continue
            if leases.renew(self.store, task, self.name, held.epoch):
                held.renewed = now
                continue
            held.proc.kill()  # taken over: not one more batch, not one more store write
            held.proc.wait()
            del self.held[task]
            self._say(f"lost the lease on {task} (epoch {held.epoch}): its worker is stopped")

    def _reap(self) -> None:
        for task, held in list(self.held.items()):
            if held.proc.poll() is None:
                continue
            if held.proc.returncode < 0:  # killed (-9, the OOM killer): alerted, not awaited
                threading.Thread(target=worker_killed, daemon=True, args=(
                    self.store, task, held.proc.pid, held.proc.returncode)).start()
            leases.release(self.store, task, self.name, held.epoch)
            del self.held[task]

    def _take(self) -> None:
        if len(self.held) >= self.max_tasks:
            return
        others = [len(a.tasks) for a in leases.alive(self.store) if a.name != self.name]
        if others and len(self.held) > min(others):
            return  # a less loaded agent takes it
        for task in leases.claimable(self.store):
            epoch = leases.take(self.store, task, self.name)
            if epoch is not None:
                self.held[task] = _Held(epoch, self._spawn(task, epoch))
                self._say(f"took {task} (epoch {epoch})")
                return  # one at a time: the others see the new load first

    def _spawn(self, task: str, epoch: int) -> subprocess.Popen[bytes]:
        logs = self.store.home / "logs"
        vault.private_folder(logs, ours=True)
        vault.private_file(logs / f"{task}.log")
        env = dict(os.environ, TURNOUT_HOME=str(self.store.home))
        if self.store.url:
            env["TURNOUT_STORE"] = self.store.url
        with open(logs / f"{task}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "turnout", "worker", task, "--epoch", str(epoch)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)

    def hand_back(self) -> None:
        """Stop every worker after its batch and release its lease, at once."""
        for held in self.held.values():
            held.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + HAND_BACK_S
        for task, held in self.held.items():
            try:
                held.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                held.proc.kill()
                held.proc.wait()
            try:
                leases.release(self.store, task, self.name, held.epoch)
            except TurnoutError:
                pass  # the lease runs out by itself
        self.held.clear()
        try:
            leases.forget(self.store, self.name)
        except TurnoutError:
            pass
        self._say("stopped: every task handed back")

    def _say(self, message: str) -> None:
        print(f"agent {self.name}: {message}", flush=True)


def agent_name(name: str | None) -> str:
    """The agent's name: `--name`, else the host's."""
    return name or socket.gethostname()


def run_agent(name: str | None, max_tasks: int, stop: threading.Event,
              store: Store | None = None) -> None:
    """Run an agent on the store until `stop` is set (what `turnout agent` does)."""
    Agent(store or Store(), name, max_tasks).run(stop)


def agent_list(store: Store | None = None) -> list[dict[str, object]]:
    """Every agent the store knows, in the shape of `turnout agent list --json`."""
    return [a.to_json() for a in leases.agents(store or Store())]
