"""Redis migration accounts: an ACL user per side with only the commands a task runs there.
A task copies, follows and verifies with them alone; they cannot run admin commands; revoking
takes writes away; dropping removes the user. The password is never shown."""

from __future__ import annotations

import pytest
import redis

from tests.integration.helpers import running
from tests.integration.test_redis_switchover import client, pair, url
from turnout import accounts, api
from turnout.engines.redis.accounts import RedisAccounts
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import RedisServer

__all__ = ["pair"]  # the fixture, used by name


def _as(server: RedisServer, user: str, password: str) -> redis.Redis:
    return redis.Redis(port=server.port, username=user, password=password)


def test_a_task_runs_with_migration_accounts_only(
        store: Store, pair: tuple[RedisServer, RedisServer]) -> None:
    source, dest = pair
    made = {side: accounts.create(url(server), side, f"mig_{side}", f"pw_{side}_9")
            for side, server in (("source", source), ("dest", dest))}
    for side, result in made.items():
        assert "password" not in result and f"pw_{side}_9" not in result["grants"]
        assert result["grants"].startswith(f"ACL SETUSER mig_{side} reset on >***")
    app = client(source)
    app.set("plain", "v")
    app.hset("h", mapping={"a": "1", "b": "2"})
    app.rpush("l", "x", "y")
    app.set("ttl", "t", ex=600)
    src_url = f"redis://mig_source:pw_source_9@{source.host}:{source.port}"
    dst_url = f"redis://mig_dest:pw_dest_9@{dest.host}:{dest.port}"
    api.create_task(TaskSpec("acct", src_url, dst_url), store)
    checked = api.precheck("acct", store)
    assert checked["ok"], checked
    try:
        with running(store, "acct"):
            api.wait_caught_up("acct", 60, store)
            app.incr("counter")
            app.sadd("s", "1", "2")
            app.delete("plain")
            api.wait_caught_up("acct", 60, store)
        report = api.verify_task("acct", store)
        assert report["consistent"], report
    finally:
        api.delete_task("acct", store, force=True)
    assert client(dest).get("counter") == b"1" and client(dest).get("plain") is None

    mine = _as(dest, "mig_dest", "pw_dest_9")
    for admin_command in (("CONFIG", "GET", "maxmemory"), ("ACL", "SETUSER", "x"),
                          ("FLUSHALL",), ("SHUTDOWN",), ("SCRIPT", "FLUSH")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            mine.execute_command(*admin_command)
    assert not RedisAccounts(mine, "dest").is_superuser()
    assert RedisAccounts(client(dest), "dest").is_superuser()

    accounts.revoke_write(url(dest), "mig_dest")
    assert mine.get("counter") == b"1"  # still reads, for a last verification
    with pytest.raises(redis.exceptions.NoPermissionError):
        mine.set("counter", "2")
    accounts.drop(url(dest), "mig_dest")
    assert b"mig_dest" not in b" ".join(client(dest).execute_command("ACL", "USERS"))
