"""Switchover, rollback and finish for Redis → Redis under an application that keeps writing.

Both servers have ACL users: `turnout` (every right; the task's URLs log in as it)
and `app` (every right but ACL), the default user off, as a Redis run with ACLs has
it. The application writes through a new connection each time to the side its config
file names, retries a write the fence refused, and logs what it did: every RPUSH to
`log` carries the next number of its database and every INCR of `counter` is counted,
so at the end the lists and counters show that no write was lost and none was applied
twice (a replayed command stream would repeat them, where row images would not).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from turnout import api
from turnout.errors import BadInput, OperationFailed
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import RedisServer, start_redis

from .test_switchover import repoint, wait_until

PASSWORD = "s3cret"
DBS = (0, 1)


def users(server: RedisServer) -> None:
    r = redis.Redis(port=server.port)
    r.execute_command("ACL", "SETUSER", "turnout", "on", f">{PASSWORD}", "~*", "&*", "+@all")
    r.execute_command("ACL", "SETUSER", "app", "on", f">{PASSWORD}", "~*", "&*", "+@all",
                      "-acl")
    r.execute_command("ACL", "SETUSER", "default", "off")
    r.close()


def url(server: RedisServer, user: str = "turnout") -> str:
    return f"redis://{user}:{PASSWORD}@{server.host}:{server.port}"


def client(server: RedisServer, db: int = 0, user: str = "turnout") -> redis.Redis:
    return redis.Redis(port=server.port, db=db, username=user, password=PASSWORD)


def admin(server: RedisServer, *command: str) -> None:
    """One command as turnout's user, its connection closed at once: an open connection of
    turnout's user that is not turnout's own counts as a writer at the fence."""
    r = client(server)
    try:
        r.execute_command(*command)
    finally:
        r.close()


@pytest.fixture
def pair(tmp_path: Path, store: Store):
    source = start_redis(tmp_path / "source")
    dest = start_redis(tmp_path / "dest")
    users(source)
    users(dest)
    yield source, dest
    for task in store.all_tasks():  # a test that failed midway leaves no worker behind
        if api.task_status(task.name, store)["pid"] is not None:
            api.stop_task(task.name, store)
    source.stop()
    dest.stop()


class Application(threading.Thread):
    """Writes to the side its config file names, a new connection per write; a write the
    fence refuses (NOPERM) is tried again after a short pause."""

    def __init__(self, servers: dict[str, RedisServer], config: Path) -> None:
        super().__init__(daemon=True)
        self.servers, self.config = servers, config
        self.halt = threading.Event()
        self.rng = random.Random(22)
        self.logged = {db: 0 for db in DBS}  # numbers pushed to `log`, in order from 1
        self.incremented = {db: 0 for db in DBS}
        self.sides: list[str] = []
        self.refused = 0

    def run(self) -> None:
        while not self.halt.is_set():
            side = self.config.read_text().strip()
            db = self.rng.choice(DBS)
            r = client(self.servers[side], db, "app")
            roll = self.rng.random()
            try:
                if roll < 0.4:
                    r.rpush("log", self.logged[db] + 1)
                    self.logged[db] += 1
                elif roll < 0.6:
                    r.incr("counter")
                    self.incremented[db] += 1
                elif roll < 0.7:
                    with r.pipeline(transaction=True) as pipe:  # a MULTI block
                        pipe.incr("counter")
                        pipe.hincrby("h", f"f{self.rng.randint(0, 9)}", 1)
                        pipe.execute()
                    self.incremented[db] += 1
                elif roll < 0.8:
                    r.set(f"t:{self.rng.randint(0, 99)}", "ttl", ex=600)
                else:
                    r.set(f"s:{self.rng.randint(0, 199)}", self.rng.random())
            except redis.exceptions.NoPermissionError:
                self.refused += 1
                time.sleep(0.02)
                continue
            finally:
                r.close()
            if not self.sides or self.sides[-1] != side:
                self.sides.append(side)

    def stop(self) -> None:
        self.halt.set()
        self.join(30)


def following(status: dict) -> bool:
    return bool(status["state"] == "Migrating" and status["phase"] == "incremental")


def keys_of(server: RedisServer, db: int) -> dict[bytes, tuple]:
    r = client(server, db)
    try:
        found = {}
        for key in r.scan_iter(count=1000):
            if key.startswith(b"_turnout:"):
                continue
            kind = r.type(key)
            value = {b"string": r.get, b"list": lambda k: r.lrange(k, 0, -1),
                     b"hash": r.hgetall}[kind](key)
            found[key] = (kind, value, r.ttl(key) > 0)
        return found
    finally:
        r.close()


def assert_no_write_lost(server: RedisServer, app: Application) -> None:
    for db in DBS:
        r = client(server, db)
        try:
            assert r.lrange("log", 0, -1) == [str(n).encode()
                                              for n in range(1, app.logged[db] + 1)], db
            assert int(r.get("counter") or 0) == app.incremented[db], db
        finally:
            r.close()


def test_switchover_rollback_and_finish_under_an_application(
        store: Store, pair: tuple[RedisServer, RedisServer], tmp_path: Path) -> None:
    source, dest = pair
    for db in DBS:
        seed = client(source, db, "app")
        seed.mset({f"s:{i}": i for i in range(200)})
        seed.close()
    api.create_task(TaskSpec("cache", url(source), url(dest)), store)
    api.start_task("cache", store)
    api.wait_for("cache", following, 60, store)
    config = tmp_path / "app-side"
    config.write_text("source")
    app = Application({"source": source, "dest": dest}, config)
    app.start()
    try:
        wait_until("the application writes", lambda: sum(app.logged.values()) > 20)
        result = api.switchover("cache", store, on_switch=repoint(config, "dest"))
        assert result["write_downtime_s"] < 60
        wait_until("the application writes on the destination",
                   lambda: app.sides[-1:] == ["dest"])
        moved = dict(app.logged)
        wait_until("writes on the destination reach the source", lambda: all(
            len(client(source, db).lrange("log", 0, -1)) > moved[db] + 5 for db in DBS), 60)
        with pytest.raises(redis.exceptions.NoPermissionError):  # the old source is fenced
            client(source, 0, "app").set("late", 1)
        api.rollback("cache", store, on_switch=repoint(config, "source"))
        wait_until("the application writes on the source again",
                   lambda: app.sides[-1:] == ["source"])
        api.wait_for("cache", following, 60, store)
        back = dict(app.logged)
        wait_until("the forward task follows again", lambda: all(
            len(client(dest, db).lrange("log", 0, -1)) > back[db] + 5 for db in DBS), 60)
        api.switchover("cache", store, on_switch=repoint(config, "dest"))
        wait_until("the application writes on the destination again",
                   lambda: app.sides[-1:] == ["dest"])
        again = dict(app.logged)
        wait_until("the application writes there", lambda: all(
            app.logged[db] > again[db] + 5 for db in DBS))
    finally:
        app.stop()
    assert app.sides == ["source", "dest", "source", "dest"], app.sides
    assert app.refused > 0  # it did knock on the fenced side
    assert_no_write_lost(dest, app)
    wait_until("the reverse task catches up",
               lambda: api.verify_task("cache", store)["consistent"], 60)
    assert_no_write_lost(source, app)
    for db in DBS:
        assert keys_of(source, db) == keys_of(dest, db)
    api.finish("cache", store)
    for server in (source, dest):
        own = [k for db in DBS for k in client(server, db).scan_iter("_turnout:*")]
        assert own == []
        client(server, 0, "app").set("open", 1)  # no fence left on either side


def test_switchover_refuses_where_the_fence_cannot_hold(
        store: Store, pair: tuple[RedisServer, RedisServer]) -> None:
    """An account that may run ACL SETUSER could lift the fence: named, nothing changed,
    or locked out with --lock-accounts until finish; turnout logged in as the default
    user, which the application shares: refused."""
    source, dest = pair
    admin(source, "ACL", "SETUSER", "ops", "on", f">{PASSWORD}", "~*", "+@all")
    api.create_task(TaskSpec("cache", url(source), url(dest)), store)
    api.start_task("cache", store)
    api.wait_for("cache", following, 60, store)
    with pytest.raises(OperationFailed, match=r"ops \(may run ACL SETUSER"):
        api.switchover("cache", store)
    client(source, 0, "app").set("writable", 1)  # nothing was fenced
    client(source, 0, "ops").set("writable", 1)
    api.switchover("cache", store, lock_accounts=True)
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(source, 0, "ops").ping()
    with pytest.raises(redis.exceptions.NoPermissionError):
        client(source, 0, "app").set("writable", 2)
    client(dest, 0, "app").set("writable", 2)
    api.finish("cache", store)
    client(source, 0, "ops").set("writable", 3)  # its rules back, the fence gone
    client(source, 0, "app").set("writable", 4)
    admin(source, "ACL", "DELUSER", "ops")
    for server in (source, dest):
        admin(server, "ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all")
    bare = f"redis://{source.host}:{source.port}/0"
    api.create_task(TaskSpec("bare", bare, f"redis://{dest.host}:{dest.port}/5"), store)
    api.start_task("bare", store)
    api.wait_for("bare", following, 60, store)
    with pytest.raises((BadInput, OperationFailed), match="logs in as the default user"):
        api.switchover("bare", store)
    client(source, 0, "app").set("writable", 2)
    api.stop_task("bare", store)


def test_abort_after_the_reverse_task_ran_applies_nothing_twice(
        store: Store, pair: tuple[RedisServer, RedisServer]) -> None:
    """A switchover stopped after the destination opened, with the reverse task already
    carrying INCRs back to the source (as when turnout dies while starting it): --abort
    restarts the forward task from a marker, so those INCRs are not applied again."""
    source, dest = pair
    api.create_task(TaskSpec("cache", url(source), url(dest)), store)
    api.start_task("cache", store)
    api.wait_for("cache", following, 60, store)
    with pytest.raises(OperationFailed, match="on-switch command exited 3"):
        api.switchover("cache", store, on_switch="exit 3")
    api.start_task("cache-reverse", store)
    api.wait_for("cache-reverse", following, 60, store)
    app = client(dest, 1, "app")
    for _ in range(5):
        app.incr("counter")
    wait_until("the increments reach the source",
               lambda: client(source, 1).get("counter") == b"5", 60)
    api.switchover_abort("cache", store)
    api.wait_for("cache", following, 60, store)
    client(source, 1, "app").incr("counter")  # the source is open again, and followed
    # the stream holds the reverse task's INCRs before this one: replayed, they make it 11
    wait_until("the forward task applies it", lambda: client(dest, 1).get("counter") == b"6")
    assert api.verify_task("cache", store)["consistent"]
    api.stop_task("cache", store)


def test_killed_at_every_step_switchover_run_again_finishes(
        store: Store, pair: tuple[RedisServer, RedisServer], home: Path) -> None:
    """kill -9 of `turnout switchover` as soon as each step is recorded (so mostly in the
    middle of the next one); every run again continues, and the end is a clean switchover
    whose reverse task carries a write on the destination back."""
    source, dest = pair
    client(source, 0, "app").mset({f"s:{i}": i for i in range(100)})
    api.create_task(TaskSpec("cache", url(source), url(dest)), store)
    api.start_task("cache", store)
    api.wait_for("cache", following, 60, store)
    env = dict(os.environ, TURNOUT_HOME=str(home))
    seen: list[str | None] = []
    while store.checkpoint("cache", "switchover_step") != "switched" and len(seen) < 30:
        before = store.checkpoint("cache", "switchover_step")
        proc = subprocess.Popen([sys.executable, "-m", "turnout", "switchover", "cache",
                                 "--session-timeout", "10"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None and store.checkpoint("cache", "switchover_step") == before:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        seen.append(store.checkpoint("cache", "switchover_step"))
    assert seen[-1] == "switched", seen
    assert len(set(seen)) >= 5, seen  # it was killed at most steps
    with pytest.raises(redis.exceptions.NoPermissionError):
        client(source, 0, "app").set("late", 1)
    client(dest, 0, "app").incr("counter")
    wait_until("the reverse task runs", lambda: client(source).get("counter") == b"1", 60)
    assert api.verify_task("cache", store)["consistent"]
    admin(dest, "SET", "_turnout:checkpoint:other", "{}")  # another task's, into this server
    api.finish("cache", store)
    client(source, 0, "app").set("open", 1)
    assert client(dest).get("_turnout:checkpoint:other") == b"{}"
    assert [k for k in client(dest).scan_iter("_turnout:*")] == [b"_turnout:checkpoint:other"]


def test_precheck_names_the_commands_an_account_lacks(
        store: Store, pair: tuple[RedisServer, RedisServer]) -> None:
    source, dest = pair
    admin(source, "ACL", "SETUSER", "reader", "on", f">{PASSWORD}", "~*", "+@read", "+acl",
          "+info", "+select", "+ping", "+client|setname")
    reader = f"redis://reader:{PASSWORD}@{source.host}:{source.port}"
    api.create_task(TaskSpec("cache", reader, url(dest)), store)
    found = api.precheck("cache", store)
    assert not found["ok"]
    assert found["problems"] == [
        f"the account reader on redis://reader:***@{source.host}:{source.port} may not run "
        "PSYNC, REPLCONF, COMMAND, SET, which a task needs there: ACL SETUSER reader +psync "
        "+replconf +command +set (and ~* for the keys)"]
    assert found["switchover"] == [  # from reader's side, turnout's user could lift a fence
        f"redis://reader:***@{source.host}:{source.port}: turnout (may run ACL SETUSER, "
        "which lifts the fence): take that right from it, or switch over with "
        "--lock-accounts"]
    admin(source, "ACL", "DELUSER", "reader")
    api.create_task(TaskSpec("fine", url(source), url(dest)), store)
    assert api.precheck("fine", store) == {
        "ok": True, "problems": [], "tables": [{"source": "(keys)", "dest": "(keys)"}],
        "switchover": [], "ddl": None}
