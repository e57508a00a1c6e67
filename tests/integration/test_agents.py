"""Agents on a shared PostgreSQL store: tasks spread over agents and taken over when one stops
or its machine is lost (kill -9 of its process group), and fencing: a paused agent's worker
commits nothing once another holds its task, and stops.

Every agent is a process group of its own, as a machine would be. The store is a fresh
PostgreSQL database per test ($TURNOUT_STORE, read by the agents and by this process).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_db
from tests.integration.agents import AgentProcess, holders, until, wait_agents
from tests.integration.bank import Business, build_source, finish_and_compare
from tests.integration.conftest import unique_db_name
from turnout import api, engines, leases
from turnout.model import EPOCH_KEY
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import PgServer, RedisServer, start_redis


@pytest.fixture()
def shared(home: Path, pg_server: PgServer, request: pytest.FixtureRequest,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL store of the test's own; its tasks are deleted after the test."""
    url = pg_server.create_database(unique_db_name(request) + "_store")
    monkeypatch.setenv("TURNOUT_STORE", url)
    yield url
    for task in api.list_tasks():
        api.delete_task(task["name"], force=True)


@pytest.fixture()
def agents(home: Path, shared: str) -> Iterator[dict[str, AgentProcess]]:
    """Agents started by the test (name -> process); all stopped after it."""
    started: dict[str, AgentProcess] = {}
    yield started
    for agent in started.values():
        agent.stop()


def test_tasks_spread_over_three_agents_and_move_when_one_stops(
        home: Path, tmp_path: Path, shared: str, agents: dict[str, AgentProcess]) -> None:
    for name in ("a1", "a2", "a3"):
        agents[name] = AgentProcess(home, shared, name, max_tasks=10)
    wait_agents(3)
    names = [f"t{n:02d}" for n in range(20)]
    for name in names:
        src = make_db(tmp_path / f"{name}.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                                               "INSERT INTO t VALUES (1, 'one');")
        api.create_task(TaskSpec(name, f"sqlite:///{src}", f"sqlite:///{tmp_path}/{name}-d.db"))
        assert api.start_task(name) is None  # agents are alive: handed to them
    held = until(lambda: (h := holders(names)) and all(h.values()) and h, 90,
                 "every task held by an agent")
    load = Counter(held.values())
    assert set(load) == {"a1", "a2", "a3"} and min(load.values()) >= 5, load
    listed = {a["name"]: a for a in api.agent_list()}
    assert sorted(listed["a2"]["tasks"]) == sorted(n for n, a in held.items() if a == "a2")

    moved = [n for n, a in held.items() if a == "a2"]
    agents["a2"].proc.send_signal(signal.SIGTERM)  # hands its tasks back at once
    started = time.time()
    after = until(lambda: (h := holders(moved)) and all(v in ("a1", "a3") for v in h.values())
                  and h, 60, "a2's tasks taken over")
    assert time.time() - started < 30
    assert set(after.values()) <= {"a1", "a3"}
    assert agents["a2"].proc.wait(30) == 0
    assert not any(a["name"] == "a2" for a in api.agent_list())  # it said goodbye
    for name in moved:
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60)


@pytest.mark.parametrize("source", ["postgresql", "mysql"])
def test_a_lost_machine_s_task_is_taken_over_within_the_lease(
        source: str, home: Path, shared: str, pg_server: PgServer,
        request: pytest.FixtureRequest, agents: dict[str, AgentProcess]) -> None:
    """A PG -> PG and a MySQL -> PG task under writes; kill -9 of the agent's process group."""
    db = unique_db_name(request)
    src = request.getfixturevalue("mysql_url") if source == "mysql" else \
        pg_server.create_database(db + "_s")
    dst = pg_server.create_database(db + "_d")
    build_source(src, 3000)
    api.create_task(TaskSpec("bank", src, dst))
    agents["first"] = AgentProcess(home, shared, "first")
    wait_agents(1)
    assert api.start_task("bank") is None
    until(lambda: api.task_status("bank")["phase"] == "incremental", 90, "incremental")
    agents["second"] = AgentProcess(home, shared, "second")
    wait_agents(2)
    business = Business(src, 3000)
    business.start()
    try:
        time.sleep(2)
        epoch = Store().get("bank").epoch
        agents["first"].signal_group(signal.SIGKILL)  # the machine is gone, workers and all
        lost = time.time()
        until(lambda: api.task_status("bank")["agent"] == "second", leases.LEASE_S + 8,
              "the second agent holds the task")
        assert time.time() - lost < leases.LEASE_S + 8
        assert Store().get("bank").epoch == epoch + 1
        time.sleep(2)  # the business keeps writing under the new worker
    finally:
        business.halt.set()
        business.join()
    api.wait_caught_up("bank", 30)  # caught up within 30 s of the business stopping
    finish_and_compare(Store(), "bank", src, dst, business)


def test_a_paused_agent_is_fenced_off_and_stops(
        home: Path, tmp_path: Path, shared: str, pg_url: str,
        agents: dict[str, AgentProcess]) -> None:
    src = f"sqlite:///{tmp_path / 'bank.db'}"
    build_source(src, 2000)
    api.create_task(TaskSpec("bank", src, pg_url))
    first_epoch = _followed_by_paused_with_other_standing_by(home, shared, agents)
    business = Business(src, 2000)
    try:
        workers = _workers_of(agents["paused"])
        assert len(workers) == 1
        # paused while idle: a process paused inside a transaction holds its locks, and its
        # successor waits for them until the database ends that session (docs/agents.md)
        agents["paused"].signal_group(signal.SIGSTOP)
        business.start()
        until(lambda: api.task_status("bank")["agent"] == "other", leases.LEASE_S + 10,
              "the other agent holds the task")
        until(lambda: _saved_epoch(pg_url) == first_epoch + 1, 30,
              "the new worker applied a batch under its epoch")
        # the worker wakes first, its agent still paused: only the fence can stop it now
        for worker in workers:
            os.kill(worker, signal.SIGCONT)
        until(lambda: _workers_of(agents["paused"]) == [], 20, "the paused worker stopped")
        # whether it woke to a batch (refused by the destination's epoch check) or to its
        # successor's doing first (a change log trimmed past its position), it says why
        # it stops, and that alone: neither the task's state nor an error is its to write
        events = api.events("bank")
        refused = [e["message"] for e in events if "taken over" in e["message"]]
        assert refused == [f"task 'bank' was taken over under epoch {first_epoch + 1} (this "
                           f"worker's is {first_epoch}): the destination refuses its batches, "
                           "so it stops and writes nothing more"], refused
        assert not [e for e in events if e["level"] == "error"], events
        assert api.task_status("bank")["state"] == "Migrating"
        agents["paused"].signal_group(signal.SIGCONT)
        assert api.task_status("bank")["agent"] == "other"
        assert Store().get("bank").epoch == first_epoch + 1
        time.sleep(1)
    finally:
        business.halt.set()
        business.join()
    assert _saved_epoch(pg_url) == first_epoch + 1
    finish_and_compare(Store(), "bank", src, pg_url, business)


def test_an_agent_serves_metrics_for_the_tasks_it_runs(
        home: Path, tmp_path: Path, shared: str, agents: dict[str, AgentProcess]) -> None:
    """`turnout agent --metrics-port`: the series of `turnout serve`'s /metrics for this
    agent's tasks only (another agent's are that agent's to serve), and its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agents["m"] = AgentProcess(home, shared, "m", max_tasks=1, metrics_port=port)
    wait_agents(1)
    for name in ("mine", "theirs"):
        src = make_db(tmp_path / f"{name}.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                                               "INSERT INTO t VALUES (1, 'one'), (2, 'two');")
        api.create_task(TaskSpec(name, f"sqlite:///{src}", f"sqlite:///{tmp_path}/{name}-d.db"))
    api.start_task("mine")
    api.wait_for("mine", lambda s: s["phase"] == "incremental", 60)
    api.start_task("theirs")  # m runs one task at most: this one waits for another agent
    samples = until(lambda: (found := _scrape(port)) and found.get(
        ("turnout_task_state", (("state", "Migrating"), ("task", "mine")))) == 1 and found,
        30, "the agent's task in its metrics")
    assert samples[("turnout_task_rows_copied_total", (("table", "t"), ("task", "mine")))] == 2
    assert samples[("turnout_agent_tasks", (("agent", "m"),))] == 1
    assert samples[("turnout_agent_max_tasks", (("agent", "m"),))] == 1
    assert not [labels for _, labels in samples if ("task", "theirs") in labels]
    agents["m"].proc.send_signal(signal.SIGTERM)
    assert agents["m"].proc.wait(30) == 0
    with pytest.raises(OSError):  # it stopped serving with it
        _scrape(port)


class Incrementer(threading.Thread):
    """An application that INCRs one key until halted: a replayed INCR shows as a count
    the source never had."""

    def __init__(self, server: RedisServer) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis(port=server.port)
        self.halt = threading.Event()
        self.done = 0

    def run(self) -> None:
        while not self.halt.is_set():
            self.client.incr("n")
            self.done += 1
            time.sleep(0.002)


def test_a_paused_agent_s_redis_worker_replays_no_command(
        home: Path, tmp_path: Path, shared: str, agents: dict[str, AgentProcess]) -> None:
    source, dest = start_redis(tmp_path / "source"), start_redis(tmp_path / "dest")
    app = Incrementer(source)
    try:
        api.create_task(TaskSpec("bank", source.url(), dest.url()))
        first_epoch = _followed_by_paused_with_other_standing_by(home, shared, agents)
        workers = _workers_of(agents["paused"])
        agents["paused"].signal_group(signal.SIGSTOP)
        app.start()
        until(lambda: api.task_status("bank")["agent"] == "other", leases.LEASE_S + 10,
              "the other agent holds the task")
        until(lambda: _saved_epoch(dest.url()) == first_epoch + 1, 30,
              "the new worker claimed the task on the destination")
        for worker in workers:  # wakes with the stream it had read: it must apply none of it
            os.kill(worker, signal.SIGCONT)
        until(lambda: _workers_of(agents["paused"]) == [], 20, "the paused worker stopped")
        assert any("taken over" in e["message"] for e in api.events("bank"))
        agents["paused"].signal_group(signal.SIGCONT)
        time.sleep(1)
    finally:
        app.halt.set()
        app.join()
    try:
        api.wait_caught_up("bank", 30)
        source_n = redis.Redis(port=source.port).get("n")
        assert int(source_n) == app.done
        assert redis.Redis(port=dest.port).get("n") == source_n
    finally:
        api.delete_task("bank", force=True)
        source.stop()
        dest.stop()


def _followed_by_paused_with_other_standing_by(home: Path, shared: str,
                                               agents: dict[str, AgentProcess]) -> int:
    """Task "bank" started on agent "paused" and following its source, then agent "other"
    started beside it; the epoch "paused" holds the task under."""
    agents["paused"] = AgentProcess(home, shared, "paused")
    wait_agents(1)
    api.start_task("bank")
    until(lambda: api.task_status("bank")["phase"] == "incremental", 90, "incremental")
    epoch = Store().get("bank").epoch
    agents["other"] = AgentProcess(home, shared, "other")
    wait_agents(2)
    return epoch


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample the agent's /metrics answers, by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _saved_epoch(url: str, task: str = "bank") -> int | None:
    engine = engines.connect(url)
    try:
        value = engine.read_checkpoint(task).get(EPOCH_KEY)
    finally:
        engine.close()
    return int(value) if value is not None else None


def _workers_of(agent: AgentProcess) -> list[int]:
    """The agent's live worker processes (children running `turnout worker`)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == agent.proc.pid and b"worker" in cmd and stat[0] != "Z":
            found.append(int(proc.name))
    return found
