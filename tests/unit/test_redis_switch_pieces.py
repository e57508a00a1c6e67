"""Pure pieces of the Redis switchover: database maps both ways, ACL rule lines, and what
a stream may hold before its database is known."""

from __future__ import annotations

import pytest

from turnout.engines.redis.fence import _rules
from turnout.engines.redis.sync import ALL_DBS, _unknown_db, db_map
from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed


def maps(source: str, dest: str) -> dict[int, int]:
    return db_map(RedisUrl.parse(source), RedisUrl.parse(dest))


@pytest.mark.parametrize(("source", "dest"), [
    ("redis://a", "redis://b"), ("redis://a/3", "redis://b"), ("redis://a", "redis://b/5"),
    ("redis://a/3", "redis://b/5")])
def test_the_reverse_task_maps_every_database_back(source: str, dest: str) -> None:
    forward, reverse = maps(source, dest), maps(dest, source)
    assert {d: s for s, d in forward.items()} == reverse


def test_database_maps() -> None:
    assert maps("redis://a", "redis://b") == {db: db for db in ALL_DBS}
    assert maps("redis://a/3", "redis://b") == {3: 3}
    assert maps("redis://a", "redis://b/5") == {5: 5}
    assert maps("redis://a/3", "redis://b/5") == {3: 5}


def test_acl_lines_split_outside_selectors() -> None:
    line = "user ro on #ab12 ~* resetchannels -@all +@read (~foo* resetchannels -@all +set)"
    assert _rules(line) == ["user", "ro", "on", "#ab12", "~*", "resetchannels", "-@all",
                            "+@read", "(~foo* resetchannels -@all +set)"]


def test_before_the_first_select_only_an_expiry_passes() -> None:
    url = RedisUrl.parse("redis://turnout:pw@a:6379")
    _unknown_db(b"DEL", 10, url)
    _unknown_db(b"unlink", 10, url)
    with pytest.raises(OperationFailed, match="SET at offset 10 before any SELECT") as failed:
        _unknown_db(b"SET", 10, url)
    assert "pw" not in str(failed.value)
